# shellcheck shell=bash
# Sourced by scripts/molecule.sh and scripts/molecule-kubernetes.sh (which `make test` runs side by side):
# requirements-molecule.txt into the virtualenv $VENV when missing or changed (stamp
# $VENV/.requirements-molecule.sha256), under a lock so that two scripts starting together install it once.
molecule_requirements() {
  local venv=$1 stamp want
  stamp=$venv/.requirements-molecule.sha256
  want=$(sha256sum requirements-molecule.txt | cut -d' ' -f1)
  (
    flock 9
    if [[ ! -x $venv/bin/molecule || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
      echo "installing requirements-molecule.txt into $venv" >&2
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-molecule.txt
      echo "$want" > "$stamp"
    fi
  ) 9> "$venv/.requirements-molecule.lock"
}
