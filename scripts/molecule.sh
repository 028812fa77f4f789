#!/usr/bin/env bash
# Run the collection's molecule scenarios on real systemd hosts (Debian 12 and 13 containers under podman).
#
#   scripts/molecule.sh                      molecule test for every podman scenario (default, then fleet)
#   scripts/molecule.sh default fleet        molecule test for the named scenarios, in that order
#   MOLECULE_COMMAND=converge scripts/molecule.sh default
#                                            another molecule command (create, converge, verify, login, ...)
#   PROMACCESS_MOLECULE_COLLECTION=checkout scripts/molecule.sh default
#                                            test the checkout as it is (developers iterating), not the tarball
#
# promaccess.core under test is, by default, the collection as operators get it: scripts/release-install.sh
# builds the release tarball (build/release/) and installs it into build/installed/<content id>/, which comes
# first in ANSIBLE_COLLECTIONS_PATH; the checkout (build/collections) is not on the path. Before molecule runs,
# scripts/collection_origin.py shows where the collection, its playbook, a role and a module resolve from, and
# the script stops when that is not the installed copy. molecule's prerun, which would install the checkout
# into ~/.ansible/collections (off the path, but a second copy all the same), is turned off.
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
SOURCE=${PROMACCESS_MOLECULE_COLLECTION:-tarball}

log() { echo "molecule.sh: $*" >&2; }

case $SOURCE in
  tarball | checkout) ;;
  *) log "PROMACCESS_MOLECULE_COLLECTION is tarball (default) or checkout, not '$SOURCE'"; exit 2 ;;
esac

# --- Python: the project venv (bootstrapped when missing) plus molecule ------------------------------------
# _collection_env.sh also sets COLLECTIONS_ROOT: where Ansible finds this checkout under its FQCN.
# shellcheck source=scripts/_collection_env.sh
source scripts/_collection_env.sh
# shellcheck source=scripts/_molecule_requirements.sh
source scripts/_molecule_requirements.sh
molecule_requirements "$VENV"

# --- collections: this one (installed from its tarball, or the checkout) and those of the ansible package ---
if [[ $SOURCE == tarball ]]; then
  PROMACCESS_ROOT=$(VENV=$VENV scripts/release-install.sh)
else
  PROMACCESS_ROOT=$COLLECTIONS_ROOT
fi
CACHE_COLLECTIONS=$(PROMACCESS_VENV=$VENV scripts/fetch-collections.sh)
# molecule's base configs: the scenarios' shared config.yml, then `prerun: false` (galaxy.yml has no dependencies,
# and the collection under test is the one on ANSIBLE_COLLECTIONS_PATH, not one molecule installs itself).
mkdir -p build
printf -- '---\nprerun: false\n' > "build/molecule-base.yml.$$"
mv -f "build/molecule-base.yml.$$" build/molecule-base.yml
BASE=(-c extensions/molecule/config.yml -c build/molecule-base.yml)

# --- podman and the host images: Debian 12 for every scenario, Debian 13 too for default ---------------------
export CONTAINERS_CONF=$REPO/tests/podman/containers.conf
PROMACCESS_TEST_IMAGE=$(scripts/build-test-image.sh bookworm)
PROMACCESS_TEST_IMAGE_TRIXIE=$(scripts/build-test-image.sh trixie)
export PROMACCESS_TEST_IMAGE PROMACCESS_TEST_IMAGE_TRIXIE

export PATH=$VENV/bin:$PATH:/usr/sbin:/sbin
export ANSIBLE_COLLECTIONS_PATH=$PROMACCESS_ROOT:$CACHE_COLLECTIONS
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
  exec molecule "${BASE[@]}" login -s "${scenarios[0]}"
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
    molecule "${BASE[@]}" destroy -s "$current" </dev/null >&2 || true
  fi
  exit 130
}
trap on_signal INT TERM

log "images $PROMACCESS_TEST_IMAGE $PROMACCESS_TEST_IMAGE_TRIXIE; collections $ANSIBLE_COLLECTIONS_PATH"
# Show where promaccess.core comes from, as ansible-playbook will resolve it for the scenarios' playbooks
# (extensions/molecule/resources), and stop unless it is the copy this run is meant to test.
ansible-galaxy collection list promaccess.core 2>&1 | sed 's/^/molecule.sh: /' >&2
if [[ $SOURCE == tarball ]]; then origin=(--expect "$PROMACCESS_ROOT"); else origin=(--expect-checkout); fi
if ! python scripts/collection_origin.py "${origin[@]}" --playbook-dir extensions/molecule/resources \
    2>&1 | sed 's/^/molecule.sh: /' >&2; then
  log "promaccess.core does not resolve from the $SOURCE copy: not running molecule"
  exit 1
fi
rc=0
for s in "${scenarios[@]}"; do
  current=$s
  start=$(date +%s)
  log "molecule $COMMAND -s $s"
  # Collection mode: run from the collection root (where galaxy.yml is), molecule reads
  # extensions/molecule/config.yml and the scenarios beside it. Run in the background and wait, so that a
  # signal reaches the trap above at once.
  molecule "${BASE[@]}" "$COMMAND" -s "$s" </dev/null &
  child=$!
  if wait "$child"; then
    log "scenario $s: $COMMAND passed in $(($(date +%s) - start)) s (promaccess.core from $PROMACCESS_ROOT)"
  else
    rc=$?
    log "scenario $s: $COMMAND FAILED (exit $rc) after $(($(date +%s) - start)) s"
    break
  fi
done
current= child=
exit "$rc"
