#!/usr/bin/env bash
# Runs inside the lane's guest (Debian 12, stock kernel, systemd), as root, from the read-only
# checkout on /mnt/src: the integration test files listed in /mnt/out/files, against the host's
# dist/. Everything the tests write goes to the guest's own disk (an overlay over the checkout).
# The verdict goes to /mnt/out/status (vitest's exit status, leak check included); the unit then
# powers the guest off.
set -uo pipefail
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
out=/mnt/out
say() { echo "vm lane: $*"; }
up=$(cut -d' ' -f1 /proc/uptime)
echo "guest boot (kernel to this runner): $up s" >"$out/times"
say "guest up after $up s: kernel $(uname -r), $(nproc) CPUs, /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"

# What the tests take from the kernel: loop devices with partition scan, veths and bridges, overlayfs, BFQ.
modprobe -a loop veth bridge overlay bfq
ln -sf /mnt/node/node /usr/local/bin/node

mkdir -p /var/lib/lane/upper /var/lib/lane/work /var/lib/lane/src
mount -t overlay overlay -o lowerdir=/mnt/src,upperdir=/var/lib/lane/upper,workdir=/var/lib/lane/work /var/lib/lane/src
cd /var/lib/lane/src

# Under TCG a stuck test and a slow one look alike: the processes, every minute, on the console.
( while sleep 60; do echo "vm lane: at $(cut -d' ' -f1 /proc/uptime) s, load $(cut -d' ' -f1-3 /proc/loadavg):"; ps -eo pid,etime,time,args --sort=start_time | tail -8 | cut -c1-160; done ) &
watch=$!
# SUBHOST_VM_SCRIPT (test-vm.sh): a shell script of the host's to run here instead of the tests (measurements).
if [ -f "$out/script" ]; then
  say "running the host's script instead of the tests"
  bash "$out/script" 2>&1 | tee "$out/script.log"
  status=${PIPESTATUS[0]}
  kill "$watch"
  echo "$status" >"$out/status.tmp" && mv "$out/status.tmp" "$out/status"
  sync
  exit 0
fi
mapfile -t files <"$out/files"
. "$out/env"
timeout_ms=$((120000 * SUBHOST_TEST_TIME_SCALE))
say "running ${#files[@]} files${TAGS:+, tests tagged $TAGS}: ${files[*]}"
start=$(cut -d' ' -f1 /proc/uptime)
SUBHOST_TEST_LANE=vm SUBHOST_TEST_TIME_SCALE=$SUBHOST_TEST_TIME_SCALE SUBHOST_TEST_PREFIX=${SUBHOST_TEST_PREFIX:-vml} NO_COLOR=1 \
  node node_modules/vitest/vitest.mjs run --project integration ${TAGS:+--tags-filter="$TAGS"} --reporter=verbose --reporter=json --outputFile.json=/tmp/results.json \
  --testTimeout="$timeout_ms" --hookTimeout="$timeout_ms" "${files[@]}" 2>&1 | tee "$out/vitest.log"
status=${PIPESTATUS[0]}
took=$(awk -v s="$start" '{ printf "%d", $1 - s }' /proc/uptime)
say "tests took $took s, exit status $status"
# Each file's time in its tests (vitest's JSON leaves its hooks out), then the rest of the run.
node -e '
  const r = JSON.parse(require("fs").readFileSync("/tmp/results.json", "utf8"));
  let sum = 0;
  for (const f of r.testResults) {
    const s = Math.round((f.endTime - f.startTime) / 1000), n = f.assertionResults.filter((a) => a.status !== "skipped" && a.status !== "pending").length;
    sum += s;
    console.log(`${f.name.replace(/.*\/test\/integration\//, "")}: ${s} s in its ${n} tests`);
  }
  console.log(`outside the tests: ${process.argv[1] - sum} s (vitest start-up and collection, the beforeAll and afterAll hooks of the files: fixture images, boots, stops; the leak check)`);
' "$took" >>"$out/times" 2>&1 || echo "(no per-file times: vitest wrote no results)" >>"$out/times"
kill "$watch"
echo "$status" >"$out/status.tmp" && mv "$out/status.tmp" "$out/status"
sync
