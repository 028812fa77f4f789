# Sourced by the scripts that run Ansible tools on this checkout (docs-lint.sh, docs-build.sh, ee-context.sh,
# molecule.sh, release-install.sh). Sets VENV and BIN (making the venv with bootstrap.sh when there is none;
# bootstrap installs requirements.txt, requirements-test.txt and requirements-docs.txt), and exports
# ANSIBLE_COLLECTIONS_PATH to where Ansible finds this checkout under its FQCN: in place when it already sits at
# .../ansible_collections/promaccess/core, else through the same build/collections link `make collection` makes.
# Run from the repository root.
VENV=${VENV:-$PWD/.venv}
BIN=$VENV/bin
[[ -x $BIN/python ]] || VENV=$VENV scripts/bootstrap.sh
if [[ $PWD == */ansible_collections/promaccess/core ]]; then
  COLLECTIONS_ROOT=${PWD%/ansible_collections/promaccess/core}
else
  COLLECTIONS_ROOT=$PWD/build/collections
  mkdir -p "$COLLECTIONS_ROOT/ansible_collections/promaccess"
  ln -sfn "$PWD" "$COLLECTIONS_ROOT/ansible_collections/promaccess/core"
fi
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS_ROOT
export PATH=$BIN:$PATH   # antsibull-docs runs `ansible` and `ansible-doc`; sphinx's build.sh runs sphinx-build
