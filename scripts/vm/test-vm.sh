#!/usr/bin/env bash
# npm run test:vm: the production-kernel lane. Boots a Debian 12 guest (stock kernel, systemd, pure
# cgroup v2; image built once by build-image.sh) under qemu, with this checkout and Node shared
# read-only, runs the integration tests inside as root against the host's built dist/, and exits
# with their status (leak check included). Without KVM (TCG) only the tests tagged `kernel` (those
# that take a path only a stock kernel offers) run; SUBHOST_VM_FILES="a.test.ts b.test.ts" and
# SUBHOST_VM_TAGS (a --tags-filter expression, "" for none) choose others.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { echo "vm lane: $*"; }
now() { date +%s; }
t0=$(now)

# Emulated, a subhost command takes 2-4 s (Node under TCG): within the lane's 15 minutes fit the
# tests tagged `kernel` (vitest.config.mts), which are in these files; under KVM every file runs.
TCG_FILES=(hardening.test.ts limits.test.ts devices-bpf.test.ts partitions.test.ts boot.test.ts)

# tee writes to its stdout, our stderr: reopening /dev/stderr would truncate a log file it is.
image=$(bash scripts/vm/build-image.sh 2> >(tee "${TMPDIR:-/tmp}/subhost-vm-build.$$" >&2))
t1=$(now)
say "image $image ready in $((t1 - t0)) s"

# /dev/kvm may be there and still not run this guest's CPU (seen in a nested VM: qemu aborts at once,
# "failed to set MSR 0x10a"): the stock kernel started with no root under KVM, panicking at once
# into an exit (panic=-1, -no-reboot), says whether it runs; else TCG.
kvm_runs() {
  timeout 60 qemu-system-x86_64 -accel kvm -cpu host -smp 1 -m 256 -nodefaults -no-user-config -display none -nic none \
    -kernel "$image/vmlinuz" -append "panic=-1 quiet" -serial none -no-reboot </dev/null >/dev/null 2>&1
}

kvm=no kvm_note=
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
  if kvm_runs; then kvm=yes; else kvm_note="/dev/kvm is there but qemu could not run a guest with it, "; fi
fi
if [ "$kvm" = yes ]; then
  accel=(-accel kvm -cpu host)
  scale=1
  why="KVM: every integration file"
  tags=
  mapfile -t files < <(cd test/integration && ls -- *.test.ts)
else
  accel=(-accel tcg,thread=multi -cpu max)
  scale=4
  why="${kvm_note}no usable /dev/kvm, so TCG, where the tests tagged kernel fit the lane's 15 minutes (every test runs under KVM)"
  tags=kernel
  files=("${TCG_FILES[@]}")
fi
tags=${SUBHOST_VM_TAGS-$tags}
if [ -n "${SUBHOST_VM_FILES:-}" ]; then
  read -ra files <<<"$SUBHOST_VM_FILES"
  why="SUBHOST_VM_FILES"
fi
say "${why}: ${files[*]}${tags:+ (--tags-filter=$tags)}"

node_dir=$(dirname "$(readlink -f "$(command -v node)")")
tmp=$(mktemp -d /var/tmp/subhost-vm.XXXXXX)
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/out"
printf '%s\n' "${files[@]/#/test/integration/}" >"$tmp/out/files"
# Emulated, the tests' waits and vitest's timeouts stretch (test/helpers/env.ts waitFor).
printf 'SUBHOST_TEST_TIME_SCALE=%s\nTAGS=%q\n' "$scale" "$tags" >"$tmp/out/env"
if [ -n "${SUBHOST_VM_SCRIPT:-}" ]; then cp "$SUBHOST_VM_SCRIPT" "$tmp/out/script"; fi

share() { echo "local,path=$1,mount_tag=$2,security_model=none,id=$2${3:+,$3}"; }
# snapshot=on: the guest's writes go to a deleted temp file, the cached image stays as built.
# A guest that hangs is killed after 20 minutes (timeout passes the TERM on), and the lane fails.
timeout "${SUBHOST_VM_TIMEOUT:-1200}" qemu-system-x86_64 "${accel[@]}" -smp "$(nproc)" -m 4096 -nodefaults -no-user-config -display none -nic none \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "root=/dev/vda1 rw init=/lib/systemd/systemd console=ttyS0 quiet loglevel=4 systemd.unit=subhost-lane.target systemd.show_status=false panic=-1" \
  -drive "file=$image/disk.raw,if=virtio,format=raw,snapshot=on" \
  -virtfs "$(share "$PWD" src readonly=on)" -virtfs "$(share "$node_dir" node readonly=on)" -virtfs "$(share "$tmp/out" out)" \
  -serial stdio -no-reboot </dev/null &
qemu_pid=$!
wait "$qemu_pid" || true
qemu_pid=
t2=$(now)

status=$(cat "$tmp/out/status" 2>/dev/null || echo none)
build_log="${TMPDIR:-/tmp}/subhost-vm-build.$$"
say "timings (load $(cut -d' ' -f1-3 /proc/loadavg)):"
if grep -q '^vm image: phases' "$build_log" 2>/dev/null; then sed -n 's/^vm image: phases: /  image build (cold): /p' "$build_log"; else echo "  image: cached, $((t1 - t0)) s"; fi
rm -f "$build_log"
[ -f "$tmp/out/times" ] && sed 's/^/  /' "$tmp/out/times"
echo "  guest in all (boot, tests, power off): $((t2 - t1)) s; lane in all: $((t2 - t0)) s"
if [ "$status" = none ]; then
  say "FAILED: the guest ended without a result (see its console above)"
  exit 1
fi
say "ran ${SUBHOST_VM_SCRIPT:-${files[*]} ($why)}: exit status $status"
exit "$status"
