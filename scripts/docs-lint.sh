#!/usr/bin/env bash
# Lint the collection's documentation the way the Ansible docsite does: plugin and role docs (schema, markup,
# references to this collection and to ansible.builtin, RST generation checked by rstcheck) and the extra docs
# in docs/docsite/ (extra-docs.yml, links.yml, rst/*.rst). seealso entries naming collections that are not
# dependencies (community.general, kubernetes.core) are accepted without being resolved.
#
# antsibull-docs asks ansible-doc for the plugin docs, so the collection must be importable under its FQCN:
# a checkout already at .../ansible_collections/promaccess/core is used in place, any other is linked at
# build/collections/ansible_collections/promaccess/core (as `make collection` does).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_collection_env.sh
source scripts/_collection_env.sh

"$BIN/antsibull-docs" lint-collection-docs --plugin-docs --validate-collection-refs dependent \
  --check-extra-docs-refs "$COLLECTIONS_ROOT/ansible_collections/promaccess/core"
echo "docs-lint: plugin, role and extra docs of promaccess.core are clean"
