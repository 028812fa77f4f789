#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the tracked tree placed at ansible_collections/promaccess/core
# (ansible-test needs that real path, not a symlink). pylint is run too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
site=$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -oP "pip='\K[0-9.]+" "$site/_internal/python_requirements.py" | head -n1)
mkdir -p ~/.ansible/test/cache
cp scripts/ansible-test-get-pip.py ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"

dest=build/sanity/ansible_collections/promaccess/core
rm -rf build/sanity
mkdir -p "$dest"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [[ -e $f ]] && cp --parents -- "$f" "$dest/"
done
cd "$dest"
git init -q && git add -A
"$VENV/bin/ansible-test" sanity --color no --python "${SANITY_PYTHON:-3.12}" --requirements "$@"
