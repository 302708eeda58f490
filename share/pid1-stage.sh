#!/bin/sh
# pid1-stage: become a subhost's PID 1, by way of unshare's fork. Joins the subhost's cgroups, makes
# new mount, PID, UTS, IPC and cgroup namespaces, and hands over to pivot-exec (native/bpf), which joins the
# subhost's network namespace, drops capabilities (the bounding set reduced, the inheritable and
# ambient sets emptied), pivots into the root filesystem, detaches the host's root, makes the guest's
# filesystems and only then runs subhost-init with the guest's own /bin/sh. subhost-init is never written into the
# guest: its text is passed. Run by the supervisor of `subhost boot` (in the background, console to
# the log) and by `subhost start` (in the foreground, on the caller's terminal or pipe).
#
# Set by the caller:
#   SUBHOST_CGROUP_PROCS  cgroup.procs of the subhost's cgroups (v2, and v1 on hybrid hosts)
#   SUBHOST_NETNS         /run/netns/NAME
#   SUBHOST_LIVE          the mounted root filesystem to pivot into
#   SUBHOST_CAPS_DROP     the capabilities' numbers to drop from the bounding set (comma-separated)
#   SUBHOST_PIVOT         native/bpf's pivot-exec (built with the addon); SUBHOST_INIT  share/subhost-init
#   SUBHOST_INIT_ENV      environment of PID 1 (space-separated NAME=value words): pivot-exec
#                         makes it PID 1's whole environment, and SIGINT and SIGQUIT its defaults
#   SUBHOST_SESSION       optional: "new" makes PID 1 a session leader; "tty" also makes stdin
#                         (a terminal) its controlling terminal, which a shell needs for job control
# fd 3, when open: the readiness pipe, passed down to subhost-init.
# Run by a shell of its own (`subhost start`) or sourced in a subshell (the supervisor: one exec less).
set -u

# Joined before unshare, so that PID 1 starts inside and its cgroup namespace is rooted there.
# "0" is the writing process: this shell, also where the supervisor sources us in a subshell ($$ is its own there).
for procs in $SUBHOST_CGROUP_PROCS; do
	echo 0 >"$procs" || exit 112
done

# setsid runs as PID 1 itself (not a group leader, so it does not fork) before pivot_root.
case ${SUBHOST_SESSION:-} in
new) session='setsid --' ;;
tty) session='setsid --ctty --' ;;
*) session= ;;
esac

# Every program up to pivot-exec is the host's, started while the host's root is ours, with our
# environment (LC_ALL=C); pivot-exec gives PID 1 its own (SUBHOST_INIT_ENV) and default SIGINT
# and SIGQUIT (ignored here when the supervisor's shell ran us in the background), which env(1) did
# in an exec of its own. It also makes nsenter --net's setns and setpriv's prctl and capset calls:
# each of those was an exec of its own (3-5 ms apiece on the development VM).
# shellcheck disable=SC2086 # session is a list of words by design
exec unshare --fork --kill-child --pid --mount --uts --ipc --cgroup --propagation private -- \
	$session "$SUBHOST_PIVOT" "$SUBHOST_LIVE" "$SUBHOST_INIT" "$SUBHOST_NETNS" "$SUBHOST_CAPS_DROP"
