#!/usr/bin/env bash
# Build (or reuse) the podman image the molecule test hosts run: Debian 12 (bookworm, the default) or Debian 13
# (trixie) with systemd as PID 1, made from Debian packages only (container registries are unreachable on the
# project's machines).
#
#   scripts/build-test-image.sh          the Debian 12 image; prints its reference on stdout (logs go to stderr)
#   scripts/build-test-image.sh trixie   the Debian 13 image
#
# The image is tagged <suite>-<hash of its recipe> (this file, tests/podman/containers.conf and the suite) and
# reused while that tag exists, so a machine builds each suite once; <suite> alone names the newest build.
# Installs its own Debian prerequisites when missing.
#
# What is in the image, and why:
#   installed:  python3 and python3-apt (Ansible, ansible.builtin.apt), systemd + systemd-sysv + dbus (real services), curl, ca-certificates and
#               apache2-utils (checks run on the host itself).
#   NOT installed, only downloaded into apt's cache (/var/cache/apt/archives, with the package lists): nginx,
#               prometheus and the Python libraries the collection's modules need on a managed host. The test
#               hosts run with `--network none`, where apt cannot reach any mirror; the playbook still has to
#               install what is missing, and `apt-get install` (ansible.builtin.apt without update_cache) finds
#               everything it needs in the cache. So the install path is exercised offline, as on a fresh VM.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR,
# PROMACCESS_TEST_IMAGE_NAME (default localhost/promaccess-test-host).
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
REPO=$(pwd)

log() { echo "build-test-image: $*" >&2; }

NAME=${PROMACCESS_TEST_IMAGE_NAME:-localhost/promaccess-test-host}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=${1:-bookworm}
case $SUITE in
  bookworm | trixie) ;;  # the managed-host platforms the collection is tested on (docs/testing.md)
  *) log "suite is bookworm (Debian 12) or trixie (Debian 13), not '$SUITE'"; exit 2 ;;
esac
# Installed in the image. procps (priority important, on every Debian VM; minbase leaves it out) gives
# /bin/kill, which Debian's prometheus.service runs to reload.
INCLUDE=python3,python3-apt,systemd,systemd-sysv,dbus,curl,ca-certificates,apache2-utils,procps
# Downloaded into the image's apt cache, installed by the playbook under test.
CACHED="nginx prometheus python3-passlib python3-bcrypt python3-yaml python3-cryptography"

export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO/tests/podman/containers.conf}

# --- prerequisites --------------------------------------------------------------------------------------
export PATH=$PATH:/usr/sbin:/sbin
need=()
for bin in podman runc debootstrap; do  # each Debian package has its binary's name
  command -v "$bin" >/dev/null 2>&1 || need+=("$bin")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  log "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# --- reuse ------------------------------------------------------------------------------------------------
TAG=$SUITE-$( (cat "$SELF" "$CONTAINERS_CONF"; echo "$SUITE") | sha256sum | cut -c1-12)
IMAGE=$NAME:$TAG
mkdir -p .cache
exec 9>.cache/build-test-image.lock
flock -w 900 9 || { log "another build holds .cache/build-test-image.lock for 15 min; giving up"; exit 1; }
if podman image exists "$IMAGE"; then
  log "reusing $IMAGE"
  podman tag "$IMAGE" "$NAME:$SUITE" >&2
  echo "$IMAGE"
  exit 0
fi

# --- build ------------------------------------------------------------------------------------------------
if [[ $(id -u) -ne 0 ]]; then
  log "debootstrap and the chroot need root"; exit 1
fi
start=$(date +%s)
ROOT=$(mktemp -d "${TMPDIR:-/var/tmp}/promaccess-rootfs.XXXXXX")
chmod 0755 "$ROOT"  # apt's _apt user downloads into it
cleanup() {
  for m in proc sys dev/pts dev; do mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m" || true; done
  rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT

log "debootstrap $SUITE (minbase) into $ROOT"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOT" "$MIRROR" >&2

cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
# Keep downloaded packages (Debian's container images delete them; these hosts need the cache offline).
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > "$ROOT/etc/apt/apt.conf.d/01keep-debs"
# No recommended packages: the cache holds exactly what `apt-get install <pkg>` then needs (prometheus alone
# would pull in node-exporter and its tools), and installs take half the time.
echo 'APT::Install-Recommends "false";' > "$ROOT/etc/apt/apt.conf.d/02no-recommends"
# Throwaway hosts: no fsync per file while unpacking (what Debian's Docker images do too).
echo 'force-unsafe-io' > "$ROOT/etc/dpkg/dpkg.cfg.d/unsafe-io"

log "apt cache for: $CACHED"
chroot "$ROOT" apt-get update -qq >&2
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y -qq --download-only $CACHED >&2

# A clean identity per container: systemd creates the machine id at boot, podman sets hostname and DNS.
: > "$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT/etc/hostname"
: > "$ROOT/etc/resolv.conf"
# Units that have nothing to do in a container and only slow the boot or fail.
for unit in getty.target console-getty.service systemd-remount-fs.service apt-daily.timer \
            apt-daily-upgrade.timer systemd-timesyncd.service; do
  ln -sfn /dev/null "$ROOT/etc/systemd/system/$unit"
done

log "importing into podman as $IMAGE"
tar -C "$ROOT" --numeric-owner -c . | podman import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=podman' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --message "promaccess.core test host, recipe $TAG" \
  - "$IMAGE" >&2
podman tag "$IMAGE" "$NAME:$SUITE" >&2

# Drop this suite's images of older recipes, and those of the recipe before suites (ignore ones still used by
# a container).
podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$NAME" | while read -r old; do
  case ${old##*:} in
    "$TAG" | "$SUITE") ;;
    "$SUITE"-* | latest | [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])
      podman rmi "$old" >/dev/null 2>&1 || true ;;
  esac
done

log "built $IMAGE in $(($(date +%s) - start)) s"
echo "$IMAGE"
