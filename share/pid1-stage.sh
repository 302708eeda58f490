#!/bin/sh
# pid1-stage: become a subhost's PID 1, by way of unshare's fork. Joins the subhost's cgroups and
# network namespace, makes new mount, PID, UTS, IPC and cgroup namespaces, drops capabilities from
# the bounding set, pivot_roots into the root filesystem and runs subhost-init there with the
# guest's own /bin/sh. Run by the supervisor of `subhost boot` (in the background, console to the
# log) and by `subhost start` (in the foreground, on the caller's terminal or pipe).
#
# Set by the caller:
#   SUBHOST_CGROUP_PROCS  cgroup.procs of the subhost's cgroups (v2, and v1 on hybrid hosts)
#   SUBHOST_NETNS         /run/netns/NAME
#   SUBHOST_LIVE          the mounted root filesystem to pivot into
#   SUBHOST_BOUNDING      setpriv --bounding-set argument for the guest
#   SUBHOST_INIT_ENV      environment of PID 1 (space-separated NAME=value words)
#   SUBHOST_SESSION       optional: "new" makes PID 1 a session leader; "tty" also makes stdin
#                         (a terminal) its controlling terminal, which a shell needs for job control
# fd 3, when open: the readiness pipe, passed down to subhost-init.
set -u

# Joined before unshare, so that PID 1 starts inside and its cgroup namespace is rooted there.
for procs in $SUBHOST_CGROUP_PROCS; do
	echo $$ >"$procs" || exit 112
done

# setsid runs as PID 1 itself (not a group leader, so it does not fork) before pivot_root.
case ${SUBHOST_SESSION:-} in
new) session='setsid --' ;;
tty) session='setsid --ctty --' ;;
*) session= ;;
esac

# A background job of a non-interactive shell (the supervisor's) ignores SIGINT and SIGQUIT, and a
# shell cannot trap what it was started ignoring: PID 1 must get them at their defaults.
# shellcheck disable=SC2086 # SUBHOST_INIT_ENV and session are lists of words by design
exec env --default-signal=INT,QUIT -i LC_ALL=C $SUBHOST_INIT_ENV \
	nsenter --net="$SUBHOST_NETNS" -- \
	unshare --fork --kill-child --pid --mount --uts --ipc --cgroup --propagation private -- \
	$session setpriv --bounding-set "$SUBHOST_BOUNDING" -- \
	/bin/sh -c 'unset LC_ALL; cd "$1" && pivot_root . . && exec /bin/sh /sbin/subhost-init' subhost-stage "$SUBHOST_LIVE"
