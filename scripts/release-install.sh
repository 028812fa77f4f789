#!/usr/bin/env bash
# Build the release tarball of promaccess.core and install the collection from it, as operators get it.
#
#   scripts/release-install.sh     prints the collections root to put in ANSIBLE_COLLECTIONS_PATH (logs: stderr)
#
# 1. `ansible-galaxy collection build` into build/release/ (galaxy.yml's build_ignore applies; older tarballs
#    there are removed);
# 2. `ansible-galaxy collection install <tarball> -p <stage> --offline --force` (no Galaxy: the collection has
#    no dependencies), then the staged tree is renamed to build/installed/<id>/ansible_collections/promaccess/core,
#    where <id> is the start of the SHA-256 of the tarball's MANIFEST.json (which holds the checksum of every
#    file): each content gets its own folder, so a molecule run started earlier keeps the copy it started with
#    while the checkout changes and another run installs a newer one;
# 3. a folder that already holds this content and passes `ansible-galaxy collection verify --offline` (every
#    file matches FILES.json) is reused; a new install is verified the same way; folders unused for 12 hours are
#    removed.
# Serialised with flock on build/release.lock. Used by scripts/molecule.sh; see docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_collection_env.sh
source scripts/_collection_env.sh  # VENV, BIN (bootstraps the venv when missing)
RELEASE=build/release
INSTALLED=$PWD/build/installed

log() { echo "release-install: $*" >&2; }

mkdir -p "$RELEASE" "$INSTALLED"
exec 9>build/release.lock
flock -w 900 9 || { log "waited 900 s for build/release.lock, giving up"; exit 1; }
tmp=$(mktemp -d build/release.tmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$BIN/ansible-galaxy" collection build --output-path "$tmp" . >/dev/null
built=("$tmp"/promaccess-core-*.tar.gz)
name=$(basename "${built[0]}")
find "$RELEASE" -maxdepth 1 -name 'promaccess-core-*.tar.gz' ! -name "$name" -delete
mv -f "${built[0]}" "$RELEASE/$name"
tarball=$RELEASE/$name
id=$(tar -xzOf "$tarball" MANIFEST.json | sha256sum | cut -c1-12)
root=$INSTALLED/$id
log "built $tarball: $(tar -tzf "$tarball" | grep -cv '/$') files, $(stat -c %s "$tarball") bytes, content id $id"

verify() {
  ANSIBLE_COLLECTIONS_PATH=$root "$BIN/ansible-galaxy" collection verify --offline promaccess.core "$@"
}
if [[ -d $root ]] && verify >/dev/null 2>&1; then
  log "build/installed/$id already holds this content (ansible-galaxy collection verify --offline passed): reused"
else
  stage=$tmp/installed
  ANSIBLE_COLLECTIONS_PATH=$stage "$BIN/ansible-galaxy" collection install --offline --force -p "$stage" \
    "$tarball" >/dev/null
  if [[ -e $root ]]; then mv "$root" "$tmp/previous"; fi
  mv "$stage" "$root"
  log "installed $tarball into build/installed/$id"
  verify -v 2>&1 | grep -v '^No config file found' >&2
fi
touch "$root"
find "$INSTALLED" -mindepth 1 -maxdepth 1 -type d ! -name "$id" -mmin +720 -exec rm -rf {} +
echo "$root"
