#!/usr/bin/env bash
# A real single-node Ganeti 3.0 cluster for the tests, and its complete removal (see
# /work/shared/ganeti-notes.md): node node1.gnt.test in a UTS namespace and a netns of the
# test's, fake hypervisor, file and blockdev templates, an OS that writes a partitioned busybox disk.
# Usage: ganeti-cluster.sh up ROOTDIR | down | status      (SUBHOST_TEST_PREFIX names every object)
set -euo pipefail
export LC_ALL=C
export SUBHOST_TEST_GANETI=${SUBHOST_TEST_PREFIX:-tst} # inherited by the daemons and sshd: the leak check finds them by it
P=${SUBHOST_TEST_PREFIX:-tst}
RUN=/var/tmp/subhost-test-$P-ganeti # under the test root prefix: the leak check sees its mounts and loops
NS=${P}gnode                        # the node's netns
BR=${P}gbr0                         # the instances' bridge, in the host namespace
VH=${P}gvh VN=${P}gvn               # host end .1, node end .11 (+ the cluster IP .10)
UTS=$RUN/uts
NODE=node1.gnt.test CLUSTER=cluster.gnt.test
OS=subhost-test-$P
OSDIR=/srv/ganeti/os/$OS
MARK="# subhost-test-$P ganeti"
GNS=(nsenter --net=/run/netns/$NS --uts=$UTS)

in_node() { "${GNS[@]}" "$@"; }
daemons_up() { [ -e /var/run/ganeti/ganeti-luxid.pid ] && /usr/lib/ganeti/daemon-util check ganeti-luxid >/dev/null 2>&1; }
# PIDs of this run's Ganeti daemons: a /usr/sbin/ganeti-* command line and our mark in the environment.
daemon_pids() {
  local e pid
  for e in /proc/[0-9]*/environ; do
    pid=${e#/proc/}
    pid=${pid%/environ}
    grep -qszxF "SUBHOST_TEST_GANETI=$P" "$e" || continue
    if grep -qsz '/usr/sbin/ganeti-' "/proc/$pid/cmdline"; then echo "$pid"; fi
  done
  return 0
}
ours() { grep -qsxF "$RUN/file-storage" /etc/ganeti/file-storage-paths; }

up() {
  local rootdir=$1
  if daemons_up && ! ours; then
    echo "ganeti-cluster: a Ganeti cluster of another test run is up (one per machine): $(cat /etc/ganeti/file-storage-paths 2>/dev/null)" >&2
    exit 1
  fi
  mkdir -p "$RUN" /srv/ganeti "$RUN/file-storage" "$RUN/ssh"
  # The node's own host name, never the machine's.
  [ -e "$UTS" ] || touch "$UTS"
  mountpoint -q "$UTS" 2>/dev/null || grep -q " $UTS " /proc/self/mountinfo || unshare --uts="$UTS" hostname "$NODE"
  ip netns list | grep -qw "^$NS" || ip netns add "$NS"
  ip link show "$BR" >/dev/null 2>&1 || ip -batch - <<EOF
link add $BR type bridge
link set $BR up
link add $VH type veth peer name $VN
link set $VN netns $NS
addr replace 198.51.100.1/24 dev $VH
link set $VH up
EOF
  in_node sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  in_node ip -batch - <<EOF
addr replace 198.51.100.11/24 dev $VN
link set $VN up
link set lo up
EOF
  grep -qF "$MARK" /etc/hosts || printf '%s\n198.51.100.11 %s node1\n198.51.100.10 %s cluster\n%s end\n' "$MARK" "$NODE" "$CLUSTER" "$MARK" >>/etc/hosts
  mkdir -p /etc/ganeti
  echo "$RUN/file-storage" >/etc/ganeti/file-storage-paths
  os_definition "$rootdir"
  if ! daemons_up; then
    EXTRA_RAPI_ARGS="-b 0.0.0.0" in_node gnt-cluster init --enabled-hypervisors=fake --enabled-disk-templates=file,blockdev \
      --file-storage-dir="$RUN/file-storage" --no-etc-hosts --no-ssh-init --master-netdev="$VN" \
      --nic-parameters=link="$BR" \
      --ipolicy-bounds-specs=min:disk-size=1,memory-size=32,cpu-count=1,disk-count=1,nic-count=1,spindle-use=1/max:disk-size=1048576,memory-size=32768,cpu-count=8,disk-count=16,nic-count=8,spindle-use=12 \
      --ipolicy-std-specs=disk-size=64,memory-size=128,cpu-count=1,disk-count=1,nic-count=1,spindle-use=1 \
      "$CLUSTER" >/dev/null
  fi
  for _ in $(seq 100); do in_node ip -o addr show dev "$VN" | grep -q 198.51.100.10 && break; sleep 0.1; done
  sshd_up
}

os_definition() {
  local rootdir=$1
  mkdir -p "$OSDIR"
  echo 20 >"$OSDIR/ganeti_api_version"
  : >"$OSDIR/parameters.list"
  # Disk 0: an MBR with one partition from 1 MiB, an ext4 written from the busybox tree, no mount.
  cat >"$OSDIR/create" <<EOF
#!/bin/sh
set -e
umask 022
dev=\$DISK_0_PATH
bytes=\$(blockdev --getsize64 "\$dev" 2>/dev/null || stat -Lc %s "\$dev")
echo 'start=2048, type=83' | sfdisk -q "\$dev" >/dev/null
mke2fs -q -F -t ext4 -b 4096 -E offset=1048576 -d "$rootdir" -L "\$INSTANCE_NAME" "\$dev" \$(( (bytes - 1048576) / 4096 ))
EOF
  for s in import export rename verify; do printf '#!/bin/sh\nexit 0\n' >"$OSDIR/$s"; done
  chmod 755 "$OSDIR"/create "$OSDIR"/import "$OSDIR"/export "$OSDIR"/rename "$OSDIR"/verify
}

sshd_up() {
  local d=$RUN/ssh
  [ -e "$d/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  [ -e "$d/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/id"
  cp "$d/id.pub" "$d/authorized_keys"
  chmod 700 "$d" && chmod 600 "$d/authorized_keys"
  cat >"$d/sshd_config" <<EOF
Port 22
ListenAddress 198.51.100.11
ListenAddress 198.51.100.10
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv PATH=${SUBHOST_TEST_PATH:-/usr/sbin:/usr/bin:/sbin:/bin}
AcceptEnv SUBHOST_ROOT
EOF
  printf '%s,%s,198.51.100.10,198.51.100.11 %s\n' "$NODE" "$CLUSTER" "$(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
  cat >"$d/config" <<EOF
Host *.gnt.test
  User root
  IdentityFile $d/id
  IdentitiesOnly yes
  UserKnownHostsFile $d/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  SendEnv SUBHOST_ROOT
EOF
  mkdir -p /run/sshd
  if [ ! -e "$d/sshd.pid" ] || ! kill -0 "$(cat "$d/sshd.pid")" 2>/dev/null; then in_node /usr/sbin/sshd -f "$d/sshd_config"; fi
}

down() {
  local pid
  if [ -e "$RUN/ssh/sshd.pid" ]; then
    pid=$(cat "$RUN/ssh/sshd.pid")
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "sshd -f $RUN/ssh/sshd_config" && kill "$pid" 2>/dev/null || true
  fi
  if daemons_up && ours; then
    for i in $(gnt-instance list --no-headers -o name 2>/dev/null); do
      gnt-instance shutdown --timeout=0 "$i" >/dev/null 2>&1 || true
      gnt-instance remove -f "$i" >/dev/null 2>&1 || true
    done
  fi
  # Faster than gnt-cluster destroy, and works with dead daemons: SIGTERM by PID, then SIGKILL.
  local pids
  pids=$(daemon_pids)
  if [ -n "$pids" ]; then
    kill $pids 2>/dev/null || true
    for _ in $(seq 50); do
      pids=$(for p in $pids; do if [ -d /proc/$p ]; then echo $p; fi; done)
      [ -z "$pids" ] && break
      sleep 0.1
    done
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  fi
  # Only the loops the tests made for blockdev instances: a subhost's loop left on a disk is the leak check's to find.
  for l in $(losetup -nO NAME,BACK-FILE | awk -v r="$RUN/blockdev/" 'index($2, r) == 1 {print $1}'); do losetup -d "$l" || true; done
  rm -rf /dev/disk/"$OS"
  if ip netns list | grep -qw "^$NS"; then ip netns del "$NS"; fi
  if ip link show "$BR" >/dev/null 2>&1; then ip link del "$BR"; fi
  if ip link show "$VH" >/dev/null 2>&1; then ip link del "$VH"; fi
  if grep -q " $UTS " /proc/self/mountinfo; then umount "$UTS"; fi
  if grep -qF "$MARK" /etc/hosts; then
    # In place: /etc/hosts may be a bind mount that rename would not replace.
    local kept
    kept=$(sed "/^$MARK\$/,/^$MARK end\$/d" /etc/hosts)
    printf '%s\n' "$kept" >/etc/hosts
  fi
  rm -f /etc/ganeti/file-storage-paths
  rmdir /etc/ganeti 2>/dev/null || true
  rm -rf "$OSDIR" "$RUN"
  rmdir /srv/ganeti/os /srv/ganeti 2>/dev/null || true
  rm -rf /var/run/ganeti /run/lock/ganeti-ssconf.lock /var/lib/ganeti/* /var/log/ganeti/*
  for d in /var/lib/ganeti /var/log/ganeti; do [ -d $d ] && chown root:root $d && chmod 755 $d; done
  rmdir /dev/disk /run/sshd 2>/dev/null || true
  setcap -r /usr/sbin/ganeti-metad 2>/dev/null || true
}

case "${1:-}" in
  up) up "${2:?ROOTDIR}" ;;
  down) down ;;
  *)
    echo "usage: $0 up ROOTDIR | down" >&2
    exit 2
    ;;
esac
