#!/usr/bin/env bash
# Build the collection's docs site (antsibull-docs + Sphinx) into build/docs/build/html: a page per module,
# lookup and role, and the guides of docs/docsite/ (extra-docs.yml, rst/*.rst, links.yml).
#
# The site is generated from scratch each time by `antsibull-docs sphinx-init --use-current`, then built by
# the build.sh it writes (antsibull-docs collection + sphinx-build -W: any warning fails the build).
# Offline (docs.ansible.com unreachable, or DOCS_OFFLINE=1) the intersphinx inventories of the Ansible and
# Python docs cannot be fetched: the mapping is emptied and only Sphinx's "undefined label" warnings are
# silenced, so links to the Ansible docs (common return values, other collections' modules) render as
# plain text. References inside this collection are checked by scripts/docs-lint.sh either way.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_collection_env.sh
source scripts/_collection_env.sh
DEST=$PWD/build/docs

rm -rf "$DEST"
mkdir -p "$DEST"
chmod 0755 "$DEST"   # antsibull-docs wants a directory only its owner can write
"$BIN/antsibull-docs" sphinx-init --use-current --fail-on-error --dest-dir "$DEST" \
  --project promaccess.core --copyright "promaccess.core maintainers" \
  --title "promaccess.core documentation" --html-short-title promaccess.core promaccess.core >/dev/null

offline=${DOCS_OFFLINE:-}
if [[ -z $offline ]]; then
  if "$BIN/python" -c 'import urllib.request; urllib.request.urlopen("https://docs.ansible.com/", timeout=5)' \
      2>/dev/null; then offline=0; else offline=1; fi
fi
if [[ $offline == 1 ]]; then
  echo "docs-build: docs.ansible.com unreachable: building without intersphinx (links to it are plain text)"
  cat >> "$DEST/conf.py" <<'PY'

# Added by scripts/docs-build.sh: offline build, no intersphinx inventories to fetch.
intersphinx_mapping = {}
suppress_warnings = ['ref.ref']
PY
fi

"$DEST/build.sh"

html=$DEST/build/html
fail=0
want=()
for f in plugins/modules/*.py; do n=$(basename "$f" .py); want+=("collections/promaccess/core/${n}_module.html"); done
for f in plugins/lookup/*.py; do n=$(basename "$f" .py); want+=("collections/promaccess/core/${n}_lookup.html"); done
for d in roles/*/; do
  n=$(basename "$d")
  [[ $n == _* ]] && continue   # private helper roles are not documented
  want+=("collections/promaccess/core/${n}_role.html")
done
for n in $("$BIN/python" -c 'import yaml
for s in yaml.safe_load(open("docs/docsite/extra-docs.yml"))["sections"]:
    for t in s["toctree"]:
        print(t if isinstance(t, str) else t["ref"])'); do
  want+=("collections/promaccess/core/docsite/${n}.html")
done
for page in "${want[@]}"; do
  if [[ ! -s $html/$page ]]; then echo "docs-build: missing page $page" >&2; fail=1; fi
done
[[ $fail -eq 0 ]] || exit 1
echo "docs-build: ${#want[@]} pages checked; open $html/index.html"
