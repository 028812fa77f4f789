#!/usr/bin/env bash
# What the real-browser check (tests/browser/check_ui.mjs) needs, from the project's own files:
#   - Debian's chromium (and fonts-liberation, so pages render with real glyphs), installed with apt-get when
#     missing and we are root (the same packages are listed in bindep.txt);
#   - playwright-core, pinned by tests/browser/package-lock.json, installed with `npm ci` (it downloads no browser).
# Idempotent: does nothing when chromium is there and node_modules matches the lock file.
# Prints the chromium path on the last line of stdout. Needs node >= 20 and npm (see docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
browser_dir=tests/browser
packages=(chromium fonts-liberation)
chromium=${PROMACCESS_CHROMIUM:-/usr/bin/chromium}

log() { printf 'browser-deps: %s\n' "$*" >&2; }

missing=()
for pkg in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) or with bindep"
        exit 1
    fi
    log "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get update -qq >&2
    timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if [ ! -x "$chromium" ]; then
    log "$chromium is not an executable"
    exit 1
fi

# playwright-core never downloads browsers; the variable guards against a future dependency that would.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 scripts/npm-ci-locked.sh "$browser_dir" playwright-core
echo "$chromium"
