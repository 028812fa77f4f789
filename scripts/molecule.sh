#!/usr/bin/env bash
# Run the collection's molecule scenarios on real systemd hosts (Debian 12 containers under podman).
#
#   scripts/molecule.sh                      molecule test for every podman scenario (default, then fleet)
#   scripts/molecule.sh default fleet        molecule test for the named scenarios, in that order
#   MOLECULE_COMMAND=converge scripts/molecule.sh default
#                                            another molecule command (create, converge, verify, login, ...)
#
# Bootstraps what it needs: the project virtualenv (make bootstrap's), requirements-molecule.txt in it, the
# host image (scripts/build-test-image.sh), the collections (scripts/fetch-collections.sh). Needs no stdin.
# `molecule test` destroys the hosts at the end even when a step fails; this script also destroys them when it
# is interrupted. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
VENV=${PROMACCESS_VENV:-${VENV:-$REPO/.venv}}
COMMAND=${MOLECULE_COMMAND:-test}

log() { echo "molecule.sh: $*" >&2; }

# --- Python: the project venv plus molecule ---------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
  log "no virtualenv at $VENV: running scripts/bootstrap.sh"
  VENV=$VENV scripts/bootstrap.sh
fi
stamp=$VENV/.requirements-molecule.sha256
want=$(sha256sum requirements-molecule.txt | cut -d' ' -f1)
if [[ ! -x $VENV/bin/molecule || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  log "installing requirements-molecule.txt into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-molecule.txt
  echo "$want" > "$stamp"
fi

# --- collections: this one (under its FQCN) and the ones from the ansible package ---------------------------
if [[ $(basename "$(dirname "$(dirname "$REPO")")")/$(basename "$(dirname "$REPO")")/$(basename "$REPO") \
      == ansible_collections/promaccess/core ]]; then
  COLLECTIONS_ROOT=$(dirname "$(dirname "$(dirname "$REPO")")")
else
  COLLECTIONS_ROOT=$REPO/build/collections  # the same link `make collection` makes
  mkdir -p "$COLLECTIONS_ROOT/ansible_collections/promaccess"
  ln -sfn "$REPO" "$COLLECTIONS_ROOT/ansible_collections/promaccess/core"
fi
CACHE_COLLECTIONS=$(PROMACCESS_VENV=$VENV scripts/fetch-collections.sh)

# --- podman and the host image --------------------------------------------------------------------------
export CONTAINERS_CONF=$REPO/tests/podman/containers.conf
PROMACCESS_TEST_IMAGE=$(scripts/build-test-image.sh)
export PROMACCESS_TEST_IMAGE

export PATH=$VENV/bin:$PATH:/usr/sbin:/sbin
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS_ROOT:$CACHE_COLLECTIONS
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0
export PYTHONDONTWRITEBYTECODE=1

scenarios=("$@")
if ((${#scenarios[@]} == 0)); then
  # Every scenario on podman hosts: those that keep the driver of config.yml. Others (a scenario with its own
  # driver, such as kubernetes, which needs a real cluster) run only when named. default first, then by name.
  scenarios=(default)
  for f in extensions/molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$f")")
    [[ $s == default ]] || grep -q '^driver:' "$f" || scenarios+=("$s")
  done
fi

if [[ $COMMAND == login ]]; then  # interactive by nature: the one command that reads the terminal
  exec molecule login -s "${scenarios[0]}"
fi

current= child=
on_signal() {
  trap - INT TERM
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ -n $current ]]; then
    log "interrupted: destroying the hosts of scenario $current"
    molecule destroy -s "$current" </dev/null >&2 || true
  fi
  exit 130
}
trap on_signal INT TERM

log "image $PROMACCESS_TEST_IMAGE; collections $ANSIBLE_COLLECTIONS_PATH"
rc=0
for s in "${scenarios[@]}"; do
  current=$s
  start=$(date +%s)
  log "molecule $COMMAND -s $s"
  # Collection mode: run from the collection root (where galaxy.yml is), molecule reads
  # extensions/molecule/config.yml and the scenarios beside it. Run in the background and wait, so that a
  # signal reaches the trap above at once.
  molecule "$COMMAND" -s "$s" </dev/null &
  child=$!
  if wait "$child"; then
    log "scenario $s: $COMMAND passed in $(($(date +%s) - start)) s"
  else
    rc=$?
    log "scenario $s: $COMMAND FAILED (exit $rc) after $(($(date +%s) - start)) s"
    break
  fi
done
current= child=
exit "$rc"
