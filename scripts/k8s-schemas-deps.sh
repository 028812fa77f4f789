#!/usr/bin/env bash
# What the Prometheus Operator schema check (tests/k8s-schemas/validate.mjs) needs, from the project's own files:
# @kubernetes-models/prometheus-operator and its dependencies, pinned by tests/k8s-schemas/package-lock.json,
# installed with `npm ci` (from the npm registry; nothing is downloaded at test time once installed).
# Idempotent: does nothing when node_modules matches the lock file (scripts/npm-ci-locked.sh). Needs node >= 20.
# Called by tests/integration/test_k8s_wiring_schemas.py (like scripts/browser-deps.sh for tests/browser).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/k8s-schemas

# The @kubernetes-models packages declare node >= 22; they work on 20 (checked by the tests), so npm's engine
# warning is expected there and not fatal.
scripts/npm-ci-locked.sh "$dir" @kubernetes-models/prometheus-operator
echo "$dir/validate.mjs"
