#!/usr/bin/env bash
# The long part of `make test`, after sanity and the linters, in two lanes that share nothing but the machine:
#
#   background   scripts/molecule.sh: the molecule scenarios on podman hosts (default, fleet, rotation), with
#                their own hosts, image and installed tarball; output to build/logs/molecule.log, printed whole
#                when both lanes are done
#   foreground   the Kubernetes control plane (tests/controlplane; its components are built on the first run of
#                a machine), molecule `kubernetes` against it, then pytest (unit and integration), then the
#                control plane is stopped
#
# Either lane spends most of its time waiting on other processes (podman exec, ansible-playbook, nginx and
# Prometheus starting, the API server), so side by side they finish in about the time of the longer one
# (docs/testing.md, "Measured: make test").
#
#   scripts/test-run.sh                        as make test runs it (PROMACCESS_VENV: the virtualenv)
#   PROMACCESS_TEST_SERIAL=1 scripts/test-run.sh
#                                              the lanes one after the other, molecule first (to tell a fault of
#                                              the tests from one of sharing the machine)
#
# Exits non-zero when either lane fails; ends with the time and result of each part. Needs no stdin.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PROMACCESS_VENV:-${VENV:-$PWD/.venv}}
PY=$VENV/bin/python
LOGS=build/logs
mkdir -p "$LOGS"
MOLECULE_LOG=$LOGS/molecule.log

log() { echo "test-run.sh: $*" >&2; }
now() { date +%s; }

# What both lanes would otherwise fetch or install at the same moment: done once, here.
PROMACCESS_VENV=$VENV scripts/fetch-collections.sh >/dev/null
# shellcheck source=scripts/_molecule_requirements.sh
source scripts/_molecule_requirements.sh
molecule_requirements "$VENV"

molecule_pid= molecule_rc= molecule_s=
declare -a summary=()

# shellcheck source=scripts/_lane.sh
source scripts/_lane.sh

start_molecule() {
  log "molecule scenarios on podman hosts: started, output in $MOLECULE_LOG"
  lane_start "$MOLECULE_LOG" env PROMACCESS_VENV="$VENV" scripts/molecule.sh
  molecule_pid=$lane_pid
}

finish_molecule() {
  [[ -n $molecule_pid ]] || return 0
  echo "===== molecule scenarios on podman hosts ($MOLECULE_LOG) ====="
  lane_finish "$MOLECULE_LOG" "$molecule_pid"
  molecule_pid=
  molecule_rc=$lane_rc molecule_s=$lane_s
  summary+=("molecule default, fleet, rotation (podman): $(verdict "$molecule_rc") in $molecule_s s")
}

on_signal() {
  trap - INT TERM
  if [[ -n $molecule_pid ]]; then
    log "interrupted: stopping the molecule scenarios (they destroy their hosts)"
    pkill -TERM -P "$molecule_pid" 2>/dev/null || true
    wait "$molecule_pid" 2>/dev/null || true
  fi
  "$PY" tests/controlplane/controlplane.py down || true
  exit 130
}
trap on_signal INT TERM

verdict() { if [[ $1 == 0 ]]; then echo passed; else echo "FAILED (exit $1)"; fi; }

# step NAME COMMAND...: run one part of the foreground lane, record its time and result; return its status.
step() {
  local name=$1 t0 rc=0
  shift
  t0=$(now)
  "$@" || rc=$?
  summary+=("$name: $(verdict "$rc") in $(($(now) - t0)) s")
  return "$rc"
}

t_all=$(now)
if [[ ${PROMACCESS_TEST_SERIAL:-} == 1 ]]; then
  start_molecule
  finish_molecule
else
  start_molecule
fi

rc=0
if step "control plane up (builds what is missing)" "$PY" tests/controlplane/controlplane.py up >/dev/null; then
  step "molecule kubernetes (control plane)" env PROMACCESS_VENV="$VENV" scripts/molecule-kubernetes.sh || rc=$?
  if ((rc == 0)); then
    step "pytest tests/unit tests/integration" "$PY" -m pytest --durations=15 tests/unit tests/integration || rc=$?
  fi
else
  rc=1
fi
"$PY" tests/controlplane/controlplane.py down || true

finish_molecule
((rc != 0)) || rc=$molecule_rc

echo "===== make test, after sanity and lint: $(($(now) - t_all)) s ====="
printf '  %s\n' "${summary[@]}"
exit "$rc"
