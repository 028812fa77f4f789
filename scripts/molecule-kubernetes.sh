#!/usr/bin/env bash
# Run the molecule scenario `kubernetes` (role promaccess.core.k8s_access against a real cluster) when KUBECONFIG
# names one. No cluster runs on the project's test machines: without KUBECONFIG this says so and exits 0, and
# that is NOT a pass - nothing was tested. See docs/kubernetes.md.
#
#   KUBECONFIG=~/.kube/kind scripts/molecule-kubernetes.sh
#   K8S_ACCESS_INGRESS=prometheus K8S_ACCESS_PROMETHEUS=k8s KUBECONFIG=... scripts/molecule-kubernetes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
VENV=${PROMACCESS_VENV:-${VENV:-$REPO/.venv}}

if [[ -z ${KUBECONFIG:-} ]]; then
  echo "kubernetes scenario NOT run: no KUBECONFIG (no cluster on this machine)"
  exit 0
fi
if [[ ! -x $VENV/bin/molecule ]]; then
  echo "molecule-kubernetes.sh: no molecule in $VENV: run scripts/molecule.sh once, or pip install -r requirements-molecule.txt" >&2
  exit 2
fi
# the collection under its FQCN, as tests/conftest.py and the Makefile arrange it
collections=$REPO/build/collections
mkdir -p "$collections/ansible_collections/promaccess"
[[ -e $collections/ansible_collections/promaccess/core ]] || ln -s "$REPO" "$collections/ansible_collections/promaccess/core"
export ANSIBLE_COLLECTIONS_PATH=$collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}
export PATH=$VENV/bin:$PATH
cd extensions
exec molecule test --scenario-name kubernetes
