#!/bin/sh
# subhost supervisor: the one host-side process kept for each subhost started by `subhost boot`
# (a dash, about 1.6 MiB RSS, most of it shared libc pages). It starts PID 1 in new namespaces,
# copies the console into a size-bounded log, and when PID 1 ends (the guest powered off or
# rebooted, or it was killed) hands over to `subhost _reap`, which releases everything or boots
# again. No resident daemon is needed for a guest's own power off to release its resources.
#
# Set by `subhost boot` (all required):
#   SUBHOST_NAME SUBHOST_BOOT_ID  which subhost and which boot of it
#   SUBHOST_LIVE                   the mounted root filesystem to pivot into
#   SUBHOST_NETNS                  /run/netns/NAME
#   SUBHOST_CGROUP_PROCS           cgroup.procs of the subhost's cgroups (v2, and v1 on hybrid hosts)
#   SUBHOST_MONITOR_PROCS          cgroup.procs of where this supervisor lives, outside them
#   SUBHOST_FIFO SUBHOST_LOG SUBHOST_LOG_MAX  console FIFO, log file, rotation size in bytes
#   SUBHOST_BOUNDING               setpriv --bounding-set argument for the guest
#   SUBHOST_INIT_ENV               environment of PID 1 (space-separated NAME=value words)
#   SUBHOST_NODE SUBHOST_CLI SUBHOST_ROOT  how to run `subhost _reap` when PID 1 has ended
# fd 3: the readiness pipe of `subhost boot`, passed down to subhost-init.
set -u

rm -f "$SUBHOST_FIFO"
mkfifo -m 600 "$SUBHOST_FIFO" || exit 111

# Our children start in the subhost's cgroups, so its cgroup namespace is rooted there ...
for procs in $SUBHOST_CGROUP_PROCS; do
	echo $$ >"$procs" || exit 112
done

# A background job of a non-interactive shell ignores SIGINT and SIGQUIT, and a shell cannot
# trap what it was started ignoring: PID 1 must get them at their defaults to handle SIGINT.
# shellcheck disable=SC2086 # SUBHOST_INIT_ENV is a list of words by design
env --default-signal=INT,QUIT -i LC_ALL=C $SUBHOST_INIT_ENV \
	nsenter --net="$SUBHOST_NETNS" -- \
	unshare --fork --kill-child --pid --mount --uts --ipc --cgroup --propagation private -- \
	setpriv --bounding-set "$SUBHOST_BOUNDING" -- \
	/bin/sh -c 'unset LC_ALL; cd "$1" && pivot_root . . && exec /bin/sh /sbin/subhost-init' subhost-stage "$SUBHOST_LIVE" \
	>"$SUBHOST_FIFO" 2>&1 </dev/null &
child=$!
exec 3>&-

# ... and we leave them: the supervisor's own cost is not the guest's.
for procs in $SUBHOST_MONITOR_PROCS; do
	echo $$ >"$procs"
done

exec 4>>"$SUBHOST_LOG"
size=0
while IFS= read -r line || [ -n "$line" ]; do
	printf '%s\n' "$line" >&4
	size=$((size + ${#line} + 1))
	if [ "$size" -ge "$SUBHOST_LOG_MAX" ]; then
		exec 4>&-
		mv -f "$SUBHOST_LOG" "$SUBHOST_LOG.1"
		exec 4>"$SUBHOST_LOG"
		size=0
	fi
done <"$SUBHOST_FIFO"
exec 4>&-

wait "$child"
status=$?
exec "$SUBHOST_NODE" "$SUBHOST_CLI" _reap "$SUBHOST_NAME" --boot-id "$SUBHOST_BOOT_ID" --status "$status" \
	--root "$SUBHOST_ROOT" >>"$SUBHOST_LOG" 2>&1 </dev/null
