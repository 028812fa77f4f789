#!/usr/bin/env bash
# Provide the collections molecule and the tests use, taken from the `ansible` package on PyPI (Ansible Galaxy is
# unreachable on the project's machines): download its sdist/wheel once into .cache/pip-ansible, then unpack only
# the collections listed below into .cache/collections/ansible_collections/<namespace>/<name>.
#
#   scripts/fetch-collections.sh        prints the collections path on stdout (logs go to stderr)
#
# Idempotent: nothing is downloaded or unpacked when the pinned version is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# ansible 14.x is the community package built on ansible-core 2.21 (requirements-test.txt).
ANSIBLE_VERSION=14.5.0
COLLECTIONS="containers.podman ansible.posix community.general kubernetes.core community.sops community.crypto"
PYTHON=${PYTHON:-${PROMACCESS_VENV:-.venv}/bin/python}
DOWNLOADS=.cache/pip-ansible
DEST=.cache/collections
STAMP=$DEST/.promaccess-fetched

log() { echo "fetch-collections: $*" >&2; }

want="ansible==$ANSIBLE_VERSION $COLLECTIONS"
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "$PWD/$DEST"
  exit 0
fi

mkdir -p "$DOWNLOADS" "$DEST"
archive=$(find "$DOWNLOADS" -maxdepth 1 -name "ansible-$ANSIBLE_VERSION[.-]*" \( -name '*.whl' -o -name '*.tar.gz' \) | head -n1)
if [[ -z $archive ]]; then
  log "downloading ansible==$ANSIBLE_VERSION from PyPI (no dependencies)"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$DOWNLOADS" \
    "ansible==$ANSIBLE_VERSION" >&2
  archive=$(find "$DOWNLOADS" -maxdepth 1 -name "ansible-$ANSIBLE_VERSION[.-]*" \( -name '*.whl' -o -name '*.tar.gz' \) | head -n1)
fi
[[ -n $archive ]] || { log "no ansible-$ANSIBLE_VERSION archive in $DOWNLOADS"; exit 1; }

log "unpacking $COLLECTIONS from $(basename "$archive")"
# shellcheck disable=SC2086
"$PYTHON" - "$archive" "$DEST" $COLLECTIONS <<'PY'
"""Extract ansible_collections/<ns>/<name>/ of the given collections from an ansible wheel or sdist."""
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile

archive, dest, *collections = sys.argv[1:]
wanted = [tuple(c.split(".", 1)) for c in collections]
tmp = tempfile.mkdtemp(prefix=".unpack-", dir=dest if os.path.isdir(dest) else None)
try:
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            for ns, name in wanted:
                marker = "ansible_collections/%s/%s/" % (ns, name)
                members = [n for n in names if n.startswith(marker)]
                if not members:
                    sys.exit("collection %s.%s not found in %s" % (ns, name, archive))
                zf.extractall(tmp, members)
        base = tmp
    else:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for ns, name in wanted:
                sel = [m for m in members if "/ansible_collections/%s/%s/" % (ns, name) in m.name + "/"]
                if not sel:
                    sys.exit("collection %s.%s not found in %s" % (ns, name, archive))
                tf.extractall(tmp, sel, filter="data")
        top = os.listdir(tmp)
        base = os.path.join(tmp, top[0]) if len(top) == 1 else tmp
    for ns, name in wanted:
        target = os.path.join(dest, "ansible_collections", ns, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.move(os.path.join(base, "ansible_collections", ns, name), target)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
PY
echo "$want" > "$STAMP"
log "collections ready in $DEST"
echo "$PWD/$DEST"
