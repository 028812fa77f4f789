# promaccess.core: one entry point for everything CI and a developer run.
#   make demo   provision the local demo (installs what it needs)
#   make test   every test: sanity, lint, changelog and docs lint, EE context, molecule, unit and integration
#   make test-matrix  sanity and unit tests on every ansible-core minor the collection claims (noxfile.py)
#   make bench  hash-once vs one community.general.htpasswd task per user; planning time, old template vs planner
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
# A checkout that already sits at .../ansible_collections/promaccess/core is used in place; any other is
# linked into build/collections so that Ansible finds it under its FQCN.
ifeq ($(notdir $(abspath $(CURDIR)/../..))/$(notdir $(abspath $(CURDIR)/..))/$(notdir $(CURDIR)),ansible_collections/promaccess/core)
COLLECTIONS_ROOT := $(abspath $(CURDIR)/../../..)
else
COLLECTIONS_ROOT := $(CURDIR)/build/collections
endif
COLLECTION_DIR := $(COLLECTIONS_ROOT)/ansible_collections/promaccess/core
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_ROOT)
export ANSIBLE_NOCOLOR := 1
export PROMACCESS_REPO := $(CURDIR)
export PROMACCESS_VENV := $(VENV)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help bootstrap where collection test test-matrix sanity lint changelog-lint unit integration molecule molecule-kubernetes demo ee docs docs-lint bench clean k8s-build k8s-up k8s-down

help:
	@sed -n '2,5p' Makefile

bootstrap:
	@VENV=$(VENV) scripts/bootstrap.sh

# Where Ansible finds this checkout (used by the tests of the checked-out-in-place layout).
where:
	@echo $(COLLECTIONS_ROOT)

collection:
	@if [ "$(COLLECTIONS_ROOT)" = "$(CURDIR)/build/collections" ]; then \
	  mkdir -p build/collections/ansible_collections/promaccess && \
	  ln -sfn $(CURDIR) build/collections/ansible_collections/promaccess/core; fi

# ansible-test sanity on a copy of the tree at a real ansible_collections/promaccess/core path.
sanity: bootstrap
	VENV=$(VENV) scripts/sanity.sh

# kubernetes.core (molecule scenario kubernetes, tests) comes from scripts/fetch-collections.sh.
lint: bootstrap collection
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT):$$(PROMACCESS_VENV=$(VENV) scripts/fetch-collections.sh) \
	  $(BIN)/ansible-lint --profile production --offline

changelog-lint: bootstrap
	$(BIN)/antsibull-changelog lint

# Execution environment build context (ansible-builder create; building the image needs a registry).
ee: bootstrap
	VENV=$(VENV) scripts/ee-context.sh

# antsibull-docs lint of plugins, role argument specs and guides; `make docs` builds the site in build/docs.
docs-lint: bootstrap collection
	VENV=$(VENV) scripts/docs-lint.sh

docs: bootstrap collection
	VENV=$(VENV) scripts/docs-build.sh

unit: bootstrap collection
	PROMACCESS_VENV=$(VENV) scripts/fetch-collections.sh >/dev/null
	$(BIN)/python -m pytest tests/unit

integration: bootstrap collection
	PROMACCESS_VENV=$(VENV) scripts/fetch-collections.sh >/dev/null
	$(BIN)/python -m pytest tests/integration

# Molecule scenarios on podman hosts with systemd (all podman scenarios, or SCENARIO=name).
molecule: bootstrap collection
	PROMACCESS_VENV=$(VENV) scripts/molecule.sh $(SCENARIO)

# The tests' throwaway Kubernetes control plane (docs/testing.md): kube-apiserver, etcd, the Prometheus Operator
# and Traefik built from their Go modules (once per version, cached in ~/.cache/promaccess-k8s), then started on
# 127.0.0.1. `make k8s-up` prints the admin kubeconfig's path last. The tests start it themselves when it is down.
k8s-build:
	scripts/k8s-build.sh

k8s-up: bootstrap
	$(BIN)/python tests/controlplane/controlplane.py up

k8s-down: bootstrap
	$(BIN)/python tests/controlplane/controlplane.py down

# Molecule scenario `kubernetes` (role k8s_access) against that control plane, or the cluster KUBECONFIG names.
molecule-kubernetes: bootstrap collection
	PROMACCESS_VENV=$(VENV) scripts/molecule-kubernetes.sh

# The test command README.md gives and .ci/run calls: the quick checks, then scripts/test-run.sh, which runs the
# molecule scenarios on podman hosts beside the Kubernetes control plane, molecule `kubernetes` and pytest, and
# ends with the time and result of each part.
test: bootstrap collection sanity lint changelog-lint docs-lint ee
	PROMACCESS_VENV=$(VENV) scripts/test-run.sh

# The supported-versions matrix (noxfile.py): its virtualenvs live in build/nox.
test-matrix: bootstrap collection
	PROMACCESS_VENV=$(VENV) scripts/fetch-collections.sh >/dev/null
	$(BIN)/nox

demo: bootstrap collection
	PROMACCESS_VENV=$(VENV) scripts/demo.sh

# Benchmark on simulated fleets of local hosts (state/bench); writes docs/benchmarks.md. Sizes and budget:
# BENCH_HOSTS, BENCH_USERS, BENCH_SIZES, BENCH_FORKS, BENCH_PEER_BUDGET; the planning time (old per-host template
# against fleet_plan): BENCH_PLANNING, BENCH_PLANNING_GRANTS, BENCH_PLANNING_BUDGET; one part only: BENCH_ONLY
# (htpasswd, planning, or store: the sops store against the age store, scripts/bench_store.py, BENCH_STORE_GRANTS
# and BENCH_STORE_RUN_GRANTS; or requests: what basic auth costs per request by scheme and consumer,
# scripts/bench_requests.py, BENCH_REQUESTS_SECONDS per row); or BENCH_ARGS (scripts/bench.py --help).
bench: bootstrap collection
	if [[ "$${BENCH_ONLY:-}" != store && "$${BENCH_ONLY:-}" != requests ]]; then $(BIN)/python scripts/bench.py $(BENCH_ARGS); fi
	if [[ -z "$${BENCH_ONLY:-}" || "$${BENCH_ONLY}" == store ]]; then $(BIN)/python scripts/bench_store.py; fi
	if [[ -z "$${BENCH_ONLY:-}" || "$${BENCH_ONLY}" == requests ]]; then $(BIN)/python scripts/bench_requests.py; fi

clean:
	rm -rf build state .pytest_cache
