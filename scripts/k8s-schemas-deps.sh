#!/usr/bin/env bash
# What the Prometheus Operator schema check (tests/k8s-schemas/validate.mjs) needs, from the project's own files:
# @kubernetes-models/prometheus-operator and its dependencies, pinned by tests/k8s-schemas/package-lock.json,
# installed with `npm ci` (from the npm registry; nothing is downloaded at test time once installed).
# Idempotent: does nothing when node_modules matches the lock file. Needs node >= 20 with npm.
# Called by tests/integration/test_k8s_wiring_schemas.py (like scripts/browser-deps.sh for tests/browser).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/k8s-schemas

log() { printf 'k8s-schemas-deps: %s\n' "$*" >&2; }

for tool in node npm; do
    command -v "$tool" >/dev/null || { log "$tool is missing (node >= 20 with npm)"; exit 1; }
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    log "node $(node --version) is too old: the validators need node >= 20 (ES modules, static class blocks)"
    exit 1
fi

stamp=$dir/node_modules/.promaccess-lock.sha256
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && [ -f "$dir/node_modules/@kubernetes-models/prometheus-operator/package.json" ]; then
    log "node_modules matches package-lock.json"
else
    log "npm ci in $dir"
    # The @kubernetes-models packages declare node >= 22; they work on 20 (checked by the tests), so npm's
    # engine warning is expected there and not fatal.
    (cd "$dir" && timeout 600 npm ci --no-audit --no-fund >&2)
    printf '%s\n' "$want" >"$stamp"
fi
echo "$dir/validate.mjs"
