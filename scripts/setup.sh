#!/usr/bin/env bash
# Installs what subhost needs on a Debian 12 host, once: packages, npm dependencies.
# Usage: scripts/setup.sh [demo|soak|bench|test|vm]   (test adds what only the tests need; vm what
# the production-kernel lane builds its guest with, scripts/vm/)
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it: what subhost runs, and busybox-static and mke2fs,
# from which the demo, the soak, the bench and the tests build their guest images.
declare -A PKG=(
  [unshare]=util-linux [nsenter]=util-linux [setpriv]=util-linux [flock]=util-linux [setsid]=util-linux
  [losetup]=mount [ip]=iproute2 [bash]=bash [tail]=coreutils [script]=bsdutils
  [mke2fs]=e2fsprogs [/bin/busybox]=busybox-static [sfdisk]=fdisk # bootstrap --disk partitions its image
  [g++]=g++ [make]=make [python3]=python3 # node-gyp builds native/bpf (bpf(2) for the device program)
  [/usr/include/blkid/blkid.h]=libblkid-dev # native/bpf's image probes: partx's and blkid's own library
)
case "${1:-}" in
  '' | demo | soak | bench) ;;
  test)
    PKG[e2fsck]=e2fsprogs PKG[debugfs]=e2fsprogs PKG[qemu-system-x86_64]=qemu-system-x86 PKG[promtool]=prometheus PKG[prometheus]=prometheus PKG[systemd-analyze]=systemd PKG[chromium]=chromium
    # strace holds a guest process at a syscall, to open a race window on purpose (guest-power); dash
    # is the /bin/sh of some test guests, and runs subhost-init's functions in unit tests.
    PKG[strace]=strace PKG[dash]=dash
    # The Ganeti tests: a single-node cluster and its node's sshd (its OS definition's sfdisk is above).
    PKG[gnt-cluster]=ganeti PKG[/usr/sbin/sshd]=openssh-server PKG[ssh]=openssh-client
    # bootstrap --from debian, and the DHCP servers the dhcp tests feed (run by the tests, never as services).
    PKG[debootstrap]=debootstrap PKG[dnsmasq]=dnsmasq-base PKG[dhcpd]=isc-dhcp-server
    ;;
  vm) PKG[debootstrap]=debootstrap PKG[qemu-system-x86_64]=qemu-system-x86 ;;
  *)
    echo "subhost setup: $1: unknown; use demo, soak, bench, test or vm" >&2
    exit 2
    ;;
esac

if [ "$(id -u)" != 0 ]; then
  echo "subhost setup: run as root (subhost manages namespaces, mounts and cgroups)" >&2
  exit 1
fi

missing=()
for cmd in "${!PKG[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -e "$cmd" ]; then missing+=("${PKG[$cmd]}"); fi
done
# busybox (not busybox-static) also provides /bin/busybox, but dynamically linked: guests need the static one.
if [ -x /bin/busybox ]; then
  case "$(LC_ALL=C ldd /bin/busybox 2>&1 || true)" in *'not a dynamic'*) ;; *) missing+=(busybox-static) ;; esac
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "subhost setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # Packages like prometheus, systemd, ganeti and isc-dhcp-server ship services: none may start on
  # this host (exit 101: not now).
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  rc=0
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if [ -n "$own_policy" ]; then rm -f "$policy"; fi
  if [ "$rc" != 0 ]; then exit "$rc"; fi
  # Nor at the next host start: the tests run dhcpd -t, never the service.
  if printf '%s\n' "${missing[@]}" | grep -qx isc-dhcp-server; then
    systemctl disable --quiet isc-dhcp-server.service isc-dhcp-server6.service 2>/dev/null || update-rc.d isc-dhcp-server disable >/dev/null 2>&1 || true
  fi
fi

# The guest power-off tests run sysvinit's own halt, shutdown and telinit inside a busybox guest:
# unpack the Debian package (not installed: this host keeps its own init) where the fixture looks.
SYSVINIT_DIR=/var/cache/subhost-test/sysvinit-core
if { [ "${1:-}" = test ] || [ "${1:-}" = vm ]; } && [ ! -x "$SYSVINIT_DIR/sbin/shutdown" ]; then
  echo "subhost setup: unpacking sysvinit-core into $SYSVINIT_DIR for the tests"
  tmp=$(mktemp -d)
  chmod 755 "$tmp" # apt downloads as its own user
  if ! (cd "$tmp" && apt-get download -q sysvinit-core >/dev/null 2>&1); then
    apt-get update -q >/dev/null
    (cd "$tmp" && apt-get download -q sysvinit-core >/dev/null)
  fi
  mkdir -p "$SYSVINIT_DIR"
  dpkg-deb -x "$tmp"/sysvinit-core_*.deb "$SYSVINIT_DIR"
  rm -rf "$tmp"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "subhost setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
# npm ci builds the addon; a checkout whose native/bpf changed since needs it built again.
addon=native/bpf/build/Release/subhost_bpf.node
if [ ! -f "$addon" ] || [ ! -f native/bpf/build/Release/pivot-exec ] || [ ! -f native/bpf/build/Release/supervisor ] || [ -n "$(find native/bpf -maxdepth 1 \( -name '*.[ch]' -o -name binding.gyp \) -newer "$addon")" ]; then
  echo "subhost setup: building native/bpf"
  npm run --silent build:native >/dev/null
fi
