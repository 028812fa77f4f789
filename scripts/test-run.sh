#!/usr/bin/env bash
# The long part of `make test`, after sanity and the linters (on the newest claimed ansible-core, the one in the
# virtualenv), in lanes that share nothing but the machine:
#
#   background   scripts/molecule.sh: the molecule scenarios on podman hosts (default, fleet, rotation), with
#                their own hosts, image and installed tarball; output to build/logs/molecule.log, printed whole
#                when all lanes are done
#   background   ansible-test sanity on the oldest claimed ansible-core (nox -t oldest -k sanity, noxfile.py),
#                niced; output to build/logs/oldest-sanity.log
#   foreground   the Kubernetes control plane (tests/controlplane; its components are built on the first run of
#                a machine), molecule `kubernetes` against it, then pytest (unit and integration), then the unit
#                tests on the oldest claimed ansible-core (nox -t oldest -k units; after pytest, as both use
#                the control plane's namespaces) and the integration tests that exercise the modules on it
#                (nox -t oldest -k integration), then the control plane is stopped
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
OLDEST_LOG=$LOGS/oldest-sanity.log

log() { echo "test-run.sh: $*" >&2; }
now() { date +%s; }

# What both lanes would otherwise fetch or install at the same moment: done once, here.
PROMACCESS_VENV=$VENV scripts/fetch-collections.sh >/dev/null
# shellcheck source=scripts/_molecule_requirements.sh
source scripts/_molecule_requirements.sh
molecule_requirements "$VENV"

declare -a summary=()
declare -A bg_pid=() bg_log=() bg_title=() bg_rc=()

# shellcheck source=scripts/_lane.sh
source scripts/_lane.sh

# bg_start KEY TITLE LOG COMMAND...: start a background lane.
bg_start() {
  local key=$1 title=$2 out=$3
  shift 3
  log "$title: started, output in $out"
  lane_start "$out" "$@"
  bg_pid[$key]=$lane_pid bg_log[$key]=$out bg_title[$key]=$title
}

# bg_finish KEY: wait for it, print its log, record its time and result in the summary and bg_rc[KEY].
bg_finish() {
  local key=$1
  [[ -n ${bg_pid[$key]:-} ]] || return 0
  echo "===== ${bg_title[$key]} (${bg_log[$key]}) ====="
  lane_finish "${bg_log[$key]}" "${bg_pid[$key]}"
  unset "bg_pid[$key]"
  bg_rc[$key]=$lane_rc
  summary+=("${bg_title[$key]}: $(verdict "$lane_rc") in $lane_s s")
}

start_molecule() {
  bg_start molecule "molecule default, fleet, rotation (podman)" "$MOLECULE_LOG" \
    env PROMACCESS_VENV="$VENV" scripts/molecule.sh
}

start_oldest_sanity() {
  bg_start oldest "sanity, oldest claimed ansible-core (nox)" "$OLDEST_LOG" \
    nice -n 10 "$VENV/bin/nox" -t oldest -k sanity
}

on_signal() {
  trap - INT TERM
  local key
  for key in "${!bg_pid[@]}"; do
    log "interrupted: stopping ${bg_title[$key]} (molecule destroys its hosts)"
    pkill -TERM -P "${bg_pid[$key]}" 2>/dev/null || true
  done
  for key in "${!bg_pid[@]}"; do wait "${bg_pid[$key]}" 2>/dev/null || true; done
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
  bg_finish molecule
  start_oldest_sanity
  bg_finish oldest
else
  start_molecule
  start_oldest_sanity
fi

rc=0
if step "control plane up (builds what is missing)" "$PY" tests/controlplane/controlplane.py up >/dev/null; then
  step "molecule kubernetes (control plane)" env PROMACCESS_VENV="$VENV" scripts/molecule-kubernetes.sh || rc=$?
  if ((rc == 0)); then
    step "pytest tests/unit tests/integration" "$PY" -m pytest --durations=15 tests/unit tests/integration || rc=$?
  fi
  step "unit tests, oldest claimed ansible-core (nox)" env PROMACCESS_K8S_KEEP=1 "$VENV/bin/nox" -t oldest -k units \
    || rc=$?
  step "module integration tests, oldest claimed ansible-core (nox)" "$VENV/bin/nox" -t oldest -k integration || rc=$?
else
  rc=1
fi
"$PY" tests/controlplane/controlplane.py down || true

bg_finish molecule
bg_finish oldest
((rc != 0)) || rc=${bg_rc[molecule]}
((rc != 0)) || rc=${bg_rc[oldest]}

echo "===== make test, after sanity and lint: $(($(now) - t_all)) s ====="
printf '  %s\n' "${summary[@]}"
exit "$rc"
