#!/usr/bin/env bash
# Lint the collection's documentation the way the Ansible docsite does: plugin and role docs (schema, markup,
# references to this collection and to ansible.builtin, RST generation checked by rstcheck) and the extra docs
# in docs/docsite/ (extra-docs.yml, links.yml, rst/*.rst). seealso entries naming collections that are not
# dependencies (community.general, kubernetes.core) are accepted without being resolved.
#
# antsibull-docs asks ansible-doc for the plugin docs, so the collection must be importable under its FQCN:
# a checkout already at .../ansible_collections/promaccess/core is used in place, any other is linked at
# build/collections/ansible_collections/promaccess/core (as `make collection` does).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
BIN=$VENV/bin

if [[ ! -x $BIN/antsibull-docs ]]; then
  echo "docs-lint: installing requirements-docs.txt into $VENV"
  "$BIN/python" -m pip install --quiet --disable-pip-version-check -r requirements-docs.txt
fi

here=$PWD
if [[ $here == */ansible_collections/promaccess/core ]]; then
  root=${here%/ansible_collections/promaccess/core}
else
  root=$here/build/collections
  mkdir -p "$root/ansible_collections/promaccess"
  ln -sfn "$here" "$root/ansible_collections/promaccess/core"
fi
export ANSIBLE_COLLECTIONS_PATH=$root
export PATH=$BIN:$PATH   # antsibull-docs runs `ansible` and `ansible-doc` from PATH

"$BIN/antsibull-docs" lint-collection-docs --plugin-docs --validate-collection-refs dependent \
  --check-extra-docs-refs "$root/ansible_collections/promaccess/core"
echo "docs-lint: plugin, role and extra docs of promaccess.core are clean"
