#!/bin/sh
# subhost supervisor: the one host-side process kept for each subhost started by `subhost boot`
# (a dash, about 1.7 MiB RSS, most of it shared libc pages). It starts PID 1 in new namespaces,
# copies the console into a size-bounded log, and when PID 1 ends (the guest powered off or
# rebooted, or it was killed) hands over to `subhost _reap`, which releases everything or boots
# again. No resident daemon is needed for a guest's own power off to release its resources.
#
# Set by `subhost boot` (all required; SUBHOST_CGROUP_PROCS, the subhost's cgroup.procs files,
# is also where the console copier runs):
#   SUBHOST_NAME SUBHOST_BOOT_ID  which subhost and which boot of it
#   SUBHOST_STAGE                  pid1-stage.sh, sourced in a subshell; it reads the rest of its
#                                  variables (SUBHOST_LIVE, SUBHOST_NETNS, ...) from our environment
#   SUBHOST_MONITOR_PROCS          cgroup.procs of where this supervisor lives, outside the subhost's
#   SUBHOST_FIFO SUBHOST_LOG SUBHOST_LOG_MAX  console FIFO, log file, rotation size in bytes
#   SUBHOST_NODE SUBHOST_CLI SUBHOST_ROOT SUBHOST_RUN  how to run `subhost _reap` when PID 1 has ended
# fd 3: the readiness pipe of `subhost boot`, passed down to subhost-init.
set -u

# subhost boot made the console FIFO (mode 600, any old one of that name removed) before starting us.

# The supervisor's own cost is not the guest's: it lives outside the subhost's cgroups, and
# PID 1's parent joins them itself (pid1-stage.sh).
for procs in $SUBHOST_MONITOR_PROCS; do
	echo $$ >"$procs"
done

# The stage in a subshell of ours (a fork, not a shell's exec); it ends by exec'ing unshare.
(. "$SUBHOST_STAGE") >"$SUBHOST_FIFO" 2>&1 </dev/null &
child=$!
exec 3>&-

# The console is copied in blocks (never a byte per read(2), never a line held in memory) by
# split(1), which starts a new log file every SUBHOST_LOG_MAX bytes, moving the last one to
# .log.1 (the first part goes on the log that boot began, after the previous boot's in .log.1). The copier runs in the subhost's cgroups: a guest's console flood is the guest's cost.
# Killed there (the guest is being stopped, or OOM-killed), it starts again outside and copies
# until PID 1's output ends.
: >>"$SUBHOST_LOG"
exec 5<"$SUBHOST_FIFO"
copy_in=$SUBHOST_CGROUP_PROCS
while :; do
	# A subshell that joins (echo 0: the writer itself) and becomes split.
	# shellcheck disable=SC2016 # expanded by split's own shell
	(
		for p in $copy_in; do echo 0 >"$p" 2>/dev/null; done
		exec split --suffix-length=12 --bytes="$SUBHOST_LOG_MAX" \
			--filter='case $FILE in *.part-aaaaaaaaaaaa) ;; *) mv -f "$SUBHOST_LOG" "$SUBHOST_LOG.1" ;; esac; exec cat >>"$SUBHOST_LOG"' \
			- "$SUBHOST_LOG.part-"
	) <&5 && break
	[ -n "$copy_in" ] || break
	copy_in=
done
exec 5<&-

wait "$child"
status=$?
# A command at work (its record's "op": poweroff, stop) releases the subhost itself, and `_reap`
# would only wait for its lock to do nothing (reap returns on a record with op): no Node started
# beside that command on the host's CPUs. The record is indented JSON (writeState), op at depth 1.
grep -q '^ "op": ' "$SUBHOST_RUN/$SUBHOST_NAME/state.json" 2>/dev/null && exit 0
exec "$SUBHOST_NODE" "$SUBHOST_CLI" _reap "$SUBHOST_NAME" --boot-id "$SUBHOST_BOOT_ID" --status "$status" \
	--root "$SUBHOST_ROOT" >>"$SUBHOST_LOG" 2>&1 </dev/null
