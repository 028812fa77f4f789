#!/usr/bin/env bash
# Install a test helper's npm packages from its lock file, once: `npm ci` in DIR unless DIR/node_modules already
# matches DIR/package-lock.json (a sha256 stamp) and holds PACKAGE. Needs node >= 20 with npm. Used by
# scripts/browser-deps.sh (tests/browser) and scripts/k8s-schemas-deps.sh (tests/k8s-schemas).
#
#   scripts/npm-ci-locked.sh DIR PACKAGE
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: npm-ci-locked.sh DIR PACKAGE}
package=${2:?usage: npm-ci-locked.sh DIR PACKAGE}

log() { printf 'npm-ci-locked: %s\n' "$*" >&2; }

for tool in node npm; do
    command -v "$tool" >/dev/null || { log "$tool is missing (node >= 20 with npm)"; exit 1; }
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    log "node $(node --version) is too old: the packages in $dir need node >= 20"
    exit 1
fi

stamp=$dir/node_modules/.promaccess-lock.sha256
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dir/node_modules/$package/package.json" ]; then
    log "$dir/node_modules matches package-lock.json"
else
    log "npm ci in $dir"
    (cd "$dir" && timeout 600 npm ci --no-audit --no-fund >&2)
    printf '%s\n' "$want" >"$stamp"
fi
