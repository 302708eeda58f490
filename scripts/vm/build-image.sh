#!/usr/bin/env bash
# Builds, once, the Debian 12 guest of the production-kernel lane (npm run test:vm): Debian's stock
# kernel, systemd and what the tests run, from Debian's archive only, as a raw partitioned image
# made without mounting anything (sfdisk, then mke2fs -d from the debootstrap folder).
# Prints the cache folder holding disk.raw, vmlinuz and initrd.img. Usage: scripts/vm/build-image.sh
set -euo pipefail
cd "$(dirname "$0")"
CACHE=${SUBHOST_VM_CACHE:-/var/cache/subhost-test/vm}
# Packages the tests run inside (scripts/setup.sh's test set, as in a fresh host), and the stock kernel.
PACKAGES=linux-image-amd64,systemd,kmod,busybox-static,e2fsprogs,iproute2,util-linux,mount,dash,bash,bsdutils,procps,qemu-system-x86,prometheus
# The image is rebuilt whenever this script, the guest's files or the sysvinit tools change.
key=$( (cat build-image.sh; find guest -type f | sort | xargs cat; ls -l /var/cache/subhost-test/sysvinit-core/sbin) | sha256sum | cut -c1-12)
out="$CACHE/debian12-$key"
if [ -f "$out/disk.raw" ]; then
  echo "$out"
  exit 0
fi

# The mirror the host's apt uses for bookworm, else Debian's own.
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
  awk '$2 == "bookworm" && $3 == "deb" && $1 ~ /\/debian\/$/ { print $1; exit }')
mirror=${mirror:-http://deb.debian.org/debian}

# Downloaded packages stay (debootstrap --cache-dir): a rebuild for a changed script downloads nothing.
mkdir -p "$CACHE/debs"
# One build at a time; a build killed outright left its folder: no other build is running now.
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$out/disk.raw" ]; then
  echo "$out"
  exit 0
fi
rm -rf "$CACHE"/.build.* "$out.part"
tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
root=$tmp/root
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
t0=$(now)
echo "vm image: debootstrap bookworm from $mirror (minbase + ${PACKAGES//,/ })" >&2
# What dpkg leaves out in the second stage (which unpacks every package, the kernel's too): the
# docs, and the kernel modules of hardware a qemu guest has not (a third of its 400 MB, thousands
# of files that dpkg and mke2fs -d would write). Still there: fs, net, block, virtio, rtc, lib.
excludes=(/usr/share/doc/ /usr/share/man/ /usr/share/info/ /usr/share/locale/ /usr/share/javascript/moment-timezone/)
for d in drivers/gpu drivers/net/wireless drivers/net/ethernet drivers/media drivers/infiniband drivers/staging drivers/usb \
  drivers/hid drivers/iio drivers/bluetooth drivers/isdn drivers/net/can drivers/thunderbolt drivers/video sound net/wireless net/mac80211 net/bluetooth; do
  excludes+=("/lib/modules/*/kernel/$d/")
done
printf 'path-exclude=%s*\n' "${excludes[@]}" >"$tmp/excludes"
# Two stages, so that the initramfs is made for virtio only (MODULES=list: seconds, not minutes), in
# a mount namespace of its own: debootstrap's /proc and /sys mounts end with it. Each stage's time
# is in phases (the first: download, or the cache, and unpacking the essential packages).
unshare --mount --propagation private --pid --fork --kill-child -- sh -ec '
  start=$(cut -d" " -f1 /proc/uptime)
  debootstrap --foreign --variant=minbase --cache-dir="$4" --include="$1" bookworm "$2" "$3"
  echo "$start $(cut -d" " -f1 /proc/uptime)" >"$6"
  mkdir -p "$2/etc/initramfs-tools/conf.d"
  echo MODULES=list >"$2/etc/initramfs-tools/conf.d/subhost-lane.conf"
  printf "%s\n" virtio_pci virtio_blk ext4 >"$2/etc/initramfs-tools/modules"
  echo force-unsafe-io >"$2/etc/dpkg/dpkg.cfg.d/subhost-lane-build" # no fsync per file: a failed build is thrown away
  cp "$5" "$2/etc/dpkg/dpkg.cfg.d/subhost-lane-excludes"
  chroot "$2" /debootstrap/debootstrap --second-stage
  rm "$2/etc/dpkg/dpkg.cfg.d/subhost-lane-build"' sh "$PACKAGES" "$root" "$mirror" "$CACHE/debs" "$tmp/excludes" "$tmp/stage1" >"$tmp/debootstrap.log" 2>&1 ||
  { tail -n 30 "$tmp/debootstrap.log" "$root/debootstrap/debootstrap.log" >&2; exit 1; }
read -r s1a s1b <"$tmp/stage1"
stage1=$(awk -v a="$s1a" -v b="$s1b" 'BEGIN { printf "%.0f", b - a }')
stage2=$(since "$s1b")
t1=$(now)

# The guest's own files: its runner unit, fstab, and what the fixtures take from the host.
cp -a guest/. "$root/"
echo subhost-lane >"$root/etc/hostname"
mkdir -p "$root/var/cache/subhost-test"
cp -a /var/cache/subhost-test/sysvinit-core "$root/var/cache/subhost-test/"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/usr/share/doc/"* "$root/usr/share/man/"* "$root/usr/share/locale/"*
cp -L "$root/vmlinuz" "$tmp/vmlinuz"
cp -L "$root/initrd.img" "$tmp/initrd.img"

# One partition at 1 MiB, its ext4 filled from the folder: nothing is mounted or loop-attached.
size_mib=$(($(du -sm "$root" | cut -f1) + 3072))
truncate -s "$((size_mib + 1))M" "$tmp/disk.raw"
echo 'start=2048, type=83' | sfdisk -q "$tmp/disk.raw"
mke2fs -q -t ext4 -L subhost-lane -d "$root" -E offset=1048576 "$tmp/disk.raw" "${size_mib}M"
echo "vm image: phases: debootstrap first stage (download or cache, unpack) $stage1 s, second stage (install, configure) $stage2 s, disk image (mke2fs -d, $(du -sm "$root" | cut -f1) MiB) $(since "$t1") s, in all $(since "$t0") s" >&2

mkdir -p "$out.part"
mv "$tmp/disk.raw" "$tmp/vmlinuz" "$tmp/initrd.img" "$out.part/"
mv "$out.part" "$out"
# Older images (another key) are of no more use.
find "$CACHE" -mindepth 1 -maxdepth 1 -name 'debian12-*' ! -path "$out" -exec rm -rf {} +
echo "$out"
