#!/usr/bin/env bash
# Build the components of the tests' throwaway Kubernetes control plane from their Go modules, once per version.
#
#   scripts/k8s-build.sh                     every component
#   scripts/k8s-build.sh etcd kube-apiserver only those
#   scripts/k8s-build.sh --print-dir helm    build if needed, then print the folder holding the binary
#
# Each component is a small wrapper module in tests/controlplane/modules/<component>/: its go.mod pins the
# upstream module and version (plus the replace directives the upstream go.mod needs), its go.sum pins every
# module's hash, and tools.go names the command. The binary lands in
#   ${PROMACCESS_K8S_CACHE:-~/.cache/promaccess-k8s}/<component>-<version>-<go.sum digest>/
# outside the checkout, so a machine builds each version once. Go's module and build caches live beside it
# (PROMACCESS_GO_CACHE, default ~/.cache/promaccess-go). After a build the script verifies what it built:
# `go version -m` must show the pinned upstream module at the pinned version with the hash go.sum holds, and
# the binary must print that version. A failed build or check leaves no binary behind. Times go to
# <cache>/build-times.tsv (component, version, seconds) for docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
MODULES=$REPO/tests/controlplane/modules
CACHE=${PROMACCESS_K8S_CACHE:-$HOME/.cache/promaccess-k8s}
GOCACHE_ROOT=${PROMACCESS_GO_CACHE:-$HOME/.cache/promaccess-go}
export GOMODCACHE=$GOCACHE_ROOT/mod GOCACHE=$GOCACHE_ROOT/build GOFLAGS=-mod=readonly GOTOOLCHAIN=local
ALL=(etcd kube-apiserver prometheus-operator traefik helm sops)

log() { echo "k8s-build.sh: $*" >&2; }

# component -> Go package of the command
declare -A PACKAGE=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [etcd]=go.etcd.io/etcd/server/v3
  [prometheus-operator]=github.com/prometheus-operator/prometheus-operator/cmd/operator
  [traefik]=github.com/traefik/traefik/v3/cmd/traefik
  [helm]=helm.sh/helm/v3/cmd/helm
  [sops]=github.com/getsops/sops/v3/cmd/sops
)
# component -> the flag that prints the version
declare -A VERSION_FLAG=(
  [kube-apiserver]=--version [etcd]=--version [prometheus-operator]=--version [traefik]=version
  [helm]=version [sops]=--version
)

upstream() { # the one module the wrapper requires (first require line)
  sed -n 's/^require \([^ (]*\) \(v[^ ]*\)$/\1 \2/p' "$MODULES/$1/go.mod" | head -n1
}

ldflags() { # component version
  local v=$2 flags="-s -w" p
  case $1 in
    kube-apiserver)
      local minor=${v#v1.}; minor=${minor%%.*}
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
      done ;;
    prometheus-operator) flags+=" -X github.com/prometheus/common/version.Version=${v#v}" ;;
    traefik) flags+=" -X github.com/traefik/traefik/v3/pkg/version.Version=$v" ;;
    helm) flags+=" -X helm.sh/helm/v3/internal/version.version=$v" ;;
  esac
  echo "$flags"
}

dir_of() { # component -> cache folder of the pinned version
  local mod ver digest
  read -r mod ver < <(upstream "$1")
  digest=$(sha256sum "$MODULES/$1/go.sum" | cut -c1-12)
  echo "$CACHE/$1-$ver-$digest"
}

verify() { # component binary module version
  local c=$1 bin=$2 mod=$3 ver=$4 sum got out
  sum=$(awk -v m="$mod" -v v="$ver" '$1 == m && $2 == v { print $3 }' "$MODULES/$c/go.sum")
  got=$(go version -m "$bin" | awk -v m="$mod" '($1 == "dep" || $1 == "mod") && $2 == m { print $3, $4 }')
  if [[ $got != "$ver $sum" ]]; then
    log "$c: $bin embeds '$got', expected '$ver $sum' (go.sum)"; return 1
  fi
  # shellcheck disable=SC2086
  out=$("$bin" ${VERSION_FLAG[$c]} 2>&1 || true)
  if [[ $out != *"${ver#v}"* ]]; then
    log "$c: '$bin ${VERSION_FLAG[$c]}' does not print ${ver#v}: $out"; return 1
  fi
}

# The folder of the build in progress: removed at exit unless it was moved into place, so a failed build or
# check leaves nothing behind. Global: the EXIT trap runs after build() has returned (a `local` is gone then).
BUILDING=
trap 'if [[ -n $BUILDING ]]; then rm -rf "$BUILDING"; fi' EXIT

build() { # component
  local c=$1 mod ver dir start
  [[ -n ${PACKAGE[$c]:-} ]] || { log "unknown component '$c' (known: ${ALL[*]})"; return 2; }
  read -r mod ver < <(upstream "$c")
  dir=$(dir_of "$c")
  if [[ -x $dir/$c ]]; then
    return 0
  fi
  command -v go >/dev/null || { log "no Go toolchain on PATH (needed to build $c)"; return 2; }
  log "building $c $ver ($mod) into $dir"
  mkdir -p "$CACHE"
  BUILDING=$(mktemp -d "$CACHE/.build-$c.XXXXXX")
  start=$(date +%s)
  (cd "$MODULES/$c" && go mod download && go build -p "$(nproc)" -trimpath -ldflags="$(ldflags "$c" "$ver")" \
    -o "$BUILDING/$c" "${PACKAGE[$c]}")
  verify "$c" "$BUILDING/$c" "$mod" "$ver"
  printf '%s\t%s\t%s\n' "$c" "$ver" "$(($(date +%s) - start))" >> "$CACHE/build-times.tsv"
  rm -rf "$dir" && mv "$BUILDING" "$dir"
  BUILDING=
  log "built $c $ver in $(($(date +%s) - start)) s"
}

print=false
if [[ ${1:-} == --print-dir ]]; then print=true; shift; fi
components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=("${ALL[@]}")
for c in "${components[@]}"; do
  build "$c"
  if $print; then dir_of "$c"; fi
done
