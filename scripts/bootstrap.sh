#!/usr/bin/env bash
# Prepare this machine for the collection's tests and demo: a Python 3.12 or 3.13 virtualenv with the tested
# requirements, then the Debian packages bindep.txt names for the "test" profile. Safe to re-run: it does
# nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

# The controller Pythons the virtualenv is tested on (README.md, "Requirements"): ansible-core 2.21 needs 3.12 or
# newer, and the matrix (noxfile.py) runs 2.21 on 3.13. PYTHON (when set) must be one of them too.
TESTED_PYTHONS="3.12 3.13"

find_python() {
  local candidates=() py version
  [[ -n ${PYTHON:-} ]] && candidates+=("$PYTHON")
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    candidates+=("$root"/versions/3.12.*/bin/python3.12 "$root"/versions/3.13.*/bin/python3.13)
  fi
  candidates+=(python3.12 python3.13 python3)
  for py in "${candidates[@]}"; do
    command -v "$py" >/dev/null 2>&1 || continue
    version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    if [[ " $TESTED_PYTHONS " == *" $version "* ]]; then
      command -v "$py"; return 0
    fi
    [[ $py == "${PYTHON:-}" ]] && echo "bootstrap: PYTHON=$PYTHON is Python $version, not a tested one ($TESTED_PYTHONS)" >&2
  done
  echo "bootstrap: no tested controller Python found (one of $TESTED_PYTHONS; looked at \$PYTHON, pyenv's versions" \
       "and python3.12, python3.13, python3 on PATH). Install one (pyenv install 3.12, or Debian 13's python3)" \
       "or set PYTHON=/path/to/python3.12" >&2
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
