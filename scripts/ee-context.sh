#!/usr/bin/env bash
# Produce an execution-environment build context for promaccess.core with `ansible-builder create`, and check it.
#
# 1. Builds the collection tarball (ansible-galaxy collection build, galaxy.yml's build_ignore applies).
# 2. Writes a minimal execution-environment.yml (version 3) that installs that tarball from the build context.
# 3. Runs `ansible-builder create`; checks the context has a Containerfile, the galaxy requirements and the tarball.
# 4. Installs the tarball into a scratch collections path and runs `ansible-builder introspect` on it, which is
#    what the image build does: checks meta/execution-environment.yml is read from the *built* collection and
#    yields requirements.txt's Python packages and bindep.txt's system packages.
#
# Nothing is pulled or built: building the image needs a container registry (base image), see
# docs/execution_environment.md. Output: $EE_DIR (default build/ee); `podman build -f Containerfile
# -t promaccess-ee build/ee/context` builds the image where a registry is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_collection_env.sh
source scripts/_collection_env.sh
EE_DIR=${EE_DIR:-$PWD/build/ee}
EE_BASE_IMAGE=${EE_BASE_IMAGE:-quay.io/ansible/awx-ee:latest}

version=$("$BIN/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tarball=promaccess-core-$version.tar.gz

rm -rf "$EE_DIR"
mkdir -p "$EE_DIR"
"$BIN/ansible-galaxy" collection build --force --output-path "$EE_DIR" . >/dev/null

cat > "$EE_DIR/execution-environment.yml" <<YAML
---
# Minimal execution environment with promaccess.core installed from its release tarball.
version: 3
images:
  base_image:
    name: $EE_BASE_IMAGE
dependencies:
  galaxy:
    collections:
      - name: /build/collections/$tarball
        type: file
additional_build_files:
  - src: $tarball
    dest: collections
additional_build_steps:
  prepend_galaxy:
    - COPY _build/collections/ /build/collections/
YAML

(cd "$EE_DIR" && "$BIN/ansible-builder" create --file execution-environment.yml --context context \
  --output-filename Containerfile -v 1)

ctx=$EE_DIR/context
fail=0
for f in Containerfile _build/requirements.yml "_build/collections/$tarball" _build/scripts/introspect.py \
         _build/scripts/assemble; do
  if [[ ! -s $ctx/$f ]]; then echo "ee-context: missing $ctx/$f" >&2; fail=1; fi
done

# What the image build's introspection will find in the built collection.
ANSIBLE_COLLECTIONS_PATH=$EE_DIR/collections "$BIN/ansible-galaxy" collection install --offline --force \
  -p "$EE_DIR/collections" "$EE_DIR/$tarball" >/dev/null
"$BIN/ansible-builder" introspect --sanitize --write-pip "$EE_DIR/introspect/requirements.txt" \
  --write-bindep "$EE_DIR/introspect/bindep.txt" "$EE_DIR/collections" >/dev/null
# PyYAML is left out on purpose: introspection drops it (ansible-core already brings it).
for pkg in libpass bcrypt pyrage ruamel.yaml kubernetes; do
  if ! grep -qi "^$pkg" "$EE_DIR/introspect/requirements.txt"; then
    echo "ee-context: introspection lost Python requirement $pkg" >&2; fail=1
  fi
done
if ! grep -q '^age ' "$EE_DIR/introspect/bindep.txt"; then
  echo "ee-context: introspection lost system requirement age" >&2; fail=1
fi
[[ $fail -eq 0 ]] || exit 1
echo "ee-context: build context ready in $ctx (base image $EE_BASE_IMAGE, not pulled)"
echo "ee-context: introspected requirements in $EE_DIR/introspect/"
