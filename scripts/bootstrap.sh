#!/usr/bin/env bash
# Prepare this machine for the collection's tests and demo: a Python 3.12 virtualenv with the tested
# requirements, then the Debian packages bindep.txt names for the "test" profile. Safe to re-run: it does
# nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

find_python() {
  local candidates=()
  [[ -n ${PYTHON:-} ]] && candidates+=("$PYTHON")
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    candidates+=("$root"/versions/3.12.*/bin/python3.12 "$root"/versions/3.13.*/bin/python3.13)
  fi
  candidates+=(python3.12 python3.13 python3)
  for py in "${candidates[@]}"; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  echo "bootstrap: no Python 3.12+ found (ansible-core 2.21 needs it); set PYTHON=/path/to/python3.12" >&2
  return 1
}

stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt requirements-test.txt requirements-docs.txt | sha256sum | cut -d' ' -f1)
if [[ ! -x $VENV/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  py=$(find_python)
  echo "bootstrap: creating $VENV with $py"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-test.txt -r requirements-docs.txt
  echo "$want" > "$stamp"
fi

missing=$("$VENV/bin/bindep" -b test 2>/dev/null || true)
if [[ -n $missing ]]; then
  echo "bootstrap: installing Debian packages:" $missing
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
