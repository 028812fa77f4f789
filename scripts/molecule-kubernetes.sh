#!/usr/bin/env bash
# Run the molecule scenario `kubernetes` (role promaccess.core.k8s_access) against a real Kubernetes API server.
#
#   scripts/molecule-kubernetes.sh                 the project's throwaway control plane (tests/controlplane:
#                                                  kube-apiserver, etcd, the Prometheus Operator, Traefik), started
#                                                  here when it is down and stopped again at the end
#   KUBECONFIG=~/.kube/kind scripts/molecule-kubernetes.sh
#                                                  a cluster of yours (prepare creates its objects in
#                                                  K8S_ACCESS_NAMESPACE; the CRDs of the Prometheus Operator must
#                                                  be installed when K8S_ACCESS_PROMETHEUS or _SERVICEMONITOR is set)
#
# Bootstraps what it needs (the project virtualenv, requirements-molecule.txt). Needs no stdin. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
VENV=${PROMACCESS_VENV:-${VENV:-$REPO/.venv}}

log() { echo "molecule-kubernetes.sh: $*" >&2; }

[[ -x $VENV/bin/python ]] || VENV=$VENV scripts/bootstrap.sh
# shellcheck source=scripts/_molecule_requirements.sh
source scripts/_molecule_requirements.sh
molecule_requirements "$VENV"

started=false
if [[ -z ${KUBECONFIG:-} ]]; then
  if ! "$VENV/bin/python" tests/controlplane/controlplane.py status >/dev/null; then
    started=true
  fi
  KUBECONFIG=$("$VENV/bin/python" tests/controlplane/controlplane.py up | tail -n1)
  export KUBECONFIG
  # the control plane's objects for the scenario: an Ingress of the class Traefik serves, a Prometheus and a
  # ServiceMonitor in a namespace the Prometheus Operator watches
  export K8S_ACCESS_NAMESPACE=${K8S_ACCESS_NAMESPACE:-promaccess-molecule}
  export K8S_ACCESS_INGRESS=${K8S_ACCESS_INGRESS:-prometheus}
  export K8S_ACCESS_PROMETHEUS=${K8S_ACCESS_PROMETHEUS:-k8s}
  export K8S_ACCESS_SERVICEMONITOR=${K8S_ACCESS_SERVICEMONITOR:-prometheus-self}
  export K8S_ACCESS_OPERATOR=true
  log "against the project's control plane ($KUBECONFIG)"
fi
cleanup() {
  if $started; then "$VENV/bin/python" tests/controlplane/controlplane.py down || true; fi
}
trap cleanup EXIT

# the collection under its FQCN, as tests/conftest.py and the Makefile arrange it
collections=$REPO/build/collections
mkdir -p "$collections/ansible_collections/promaccess"
[[ -e $collections/ansible_collections/promaccess/core ]] || ln -s "$REPO" "$collections/ansible_collections/promaccess/core"
# kubernetes.core (prepare.yml) from the ansible package on PyPI, as scripts/molecule.sh does
cache_collections=$(PROMACCESS_VENV=$VENV scripts/fetch-collections.sh)
export ANSIBLE_COLLECTIONS_PATH=$collections:$cache_collections
export PATH=$VENV/bin:$PATH ANSIBLE_NOCOLOR=1
cd extensions
# The delegated driver keeps the scenario's state (e.g. "prepared") in molecule's ephemeral directory between
# runs: give it a fresh one in this checkout, or a second run on the same machine would skip prepare. Not
# `molecule reset`: that also runs the podman driver's reset, `podman rm --force --filter
# label=owner=molecule`, which removes every molecule host on the machine, those of the scenarios make test's
# other lane is running too (tests/integration/test_molecule_kubernetes.py).
export MOLECULE_EPHEMERAL_DIRECTORY=$REPO/build/molecule/kubernetes
rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"
molecule test --scenario-name kubernetes
