# pivot-exec: the last host program on the way into a subhost (share/pid1-stage.sh runs it as PID 1
# of the new namespaces), and the first part of subhost-init. In this one process, with no exec in
# between, it joins the subhost's network namespace and drops capabilities (what nsenter --net and
# setpriv did in an exec each), pivots into the guest's root, detaches the host's root, makes the guest's filesystems
# (/proc, /sys, /dev and its nodes, devpts, /dev/shm, the protections of /proc and /sys, /run) and
# its host name with mount(2), mknod(2) and sethostname(2), and only then runs the guest's /bin/sh on
# subhost-init's text (`sh -c 'eval ...' subhost-init`): no file of the guest is run, and no library
# of it loaded, while the host's root is reachable (after pivot_root the host's programs cannot be
# run any more: their loader would be the guest's), and none before the protections are in place.
# One process instead of an exec per mount (~40 of them, 2-4 ms each). perl-base is Essential on
# Debian; util-linux has no tool that pivots, detaches and execs in one process. Nothing is loaded
# after the pivot (the host's perl library is out of reach then): no module, no %! (Errno).
#
# Usage: perl pivot-exec.pl ROOT INIT NETNS CAPS PIVOT_ROOT_NR UMOUNT2_NR MOUNT_NR MKNODAT_NR
#        SETHOSTNAME_NR SETNS_NR PRCTL_NR CAPGET_NR CAPSET_NR
#   ROOT  the guest's mounted root filesystem; INIT  the host's share/subhost-init (read before the pivot)
#   NETNS  the network namespace's file (/run/netns/NAME)
#   CAPS  the capabilities' numbers to drop from the bounding set, comma-separated (src/core/guest/capabilities.ts)
#   *_NR  the syscall numbers on this architecture (src/core/guest/pivot.ts)
# Environment: SUBHOST_INIT_ENV, PID 1's whole environment (NAME=value words; nothing else of ours
# reaches the guest), of which it reads and drops SUBHOST_INIT_HOSTNAME, _DEVICES, _TUN, _READONLY,
# _WRITABLE and _MASKED (share/subhost-init's header says what they hold).
use strict;
# Warnings on without warnings.pm, whose loading was two thirds of this script's start-up.
BEGIN { $^W = 1 }

my ($root, $init, $netns, $caps, $pivot_nr, $umount2_nr, $mount_nr, $mknodat_nr, $sethostname_nr, $setns_nr, $prctl_nr, $capget_nr, $capset_nr) = @ARGV;
die "pivot-exec: usage: ROOT INIT NETNS CAPS PIVOT_ROOT_NR UMOUNT2_NR MOUNT_NR MKNODAT_NR SETHOSTNAME_NR SETNS_NR PRCTL_NR CAPGET_NR CAPSET_NR\n"
  unless defined $capset_nr && $caps =~ /\A[0-9]+(?:,[0-9]+)*\z/;
$| = 1;

# nsenter --net: the subhost's network namespace, joined before /sys is mounted (sysfs shows the
# mounter's namespace's interfaces).
my $CLONE_NEWNET = 0x40000000;
open(my $ns, '<', $netns) or die "pivot-exec: cannot open $netns: $!\n";
syscall($setns_nr + 0, fileno($ns) + 0, $CLONE_NEWNET) == 0 or die "pivot-exec: cannot enter the network namespace $netns: $!\n";
close($ns);

# setpriv --bounding-set -CAP,... --inh-caps=-all --ambient-caps=-all. We keep what we hold (the
# pivot and the mounts need it); the guest's /bin/sh, exec'd by root, gets the bounding set only,
# since the inheritable and ambient sets (which would bring back any capability, as root's files
# have full inheritable sets) are empty.
my ($PR_CAPBSET_DROP, $PR_CAP_AMBIENT, $PR_CAP_AMBIENT_CLEAR_ALL, $CAP_V3) = (24, 47, 4, 0x20080522);
for my $cap (split /,/, $caps) {
	syscall($prctl_nr + 0, $PR_CAPBSET_DROP, $cap + 0, 0, 0, 0) == 0 or die "pivot-exec: cannot drop capability $cap from the bounding set: $!\n";
}
# Version 3: effective, permitted, inheritable of capabilities 0-31, then the same of 32-63.
my $header = pack('LL', $CAP_V3, 0);
my $sets = "\0" x 24;
syscall($capget_nr + 0, $header, $sets) == 0 or die "pivot-exec: cannot read our capabilities: $!\n";
my @set = unpack('L6', $sets);
@set[2, 5] = (0, 0);
syscall($capset_nr + 0, $header, pack('L6', @set)) == 0 or die "pivot-exec: cannot empty the inheritable set: $!\n";
syscall($prctl_nr + 0, $PR_CAP_AMBIENT, $PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 or die "pivot-exec: cannot empty the ambient set: $!\n";

# PID 1's environment is SUBHOST_INIT_ENV's words and nothing else. A background job of a
# non-interactive shell (the supervisor's) ignores SIGINT and SIGQUIT, and a shell cannot trap what
# it was started ignoring: the guest's sh must get them at their defaults, which exec keeps.
my @words = split ' ', (defined $ENV{SUBHOST_INIT_ENV} ? $ENV{SUBHOST_INIT_ENV} : '');
%ENV = ();
for my $word (@words) {
	my ($name, $value) = $word =~ /\A([A-Za-z_][A-Za-z0-9_]*)=(.*)\z/s or die "pivot-exec: not NAME=value in SUBHOST_INIT_ENV: $word\n";
	$ENV{$name} = $value;
}
$SIG{INT} = 'DEFAULT';
$SIG{QUIT} = 'DEFAULT';
my %set_up;
$set_up{$_} = delete $ENV{"SUBHOST_INIT_$_"} for qw(HOSTNAME DEVICES TUN READONLY WRITABLE MASKED);
$set_up{$_} = '' for grep { !defined $set_up{$_} } keys %set_up;

open(my $fh, '<', $init) or die "pivot-exec: cannot read $init: $!\n";
my $script = do { local $/; <$fh> };
close($fh);

chdir($root) or die "pivot-exec: cannot enter $root: $!\n";
my $dot = '.';
my $MNT_DETACH = 2;
# pivot_root(".", "."): the host's root ends up stacked over the guest's, and umount2 detaches it.
syscall($pivot_nr + 0, $dot, $dot) == 0 or die "pivot-exec: pivot_root into $root: $!\n";
syscall($umount2_nr + 0, $dot, $MNT_DETACH) == 0 or die "pivot-exec: cannot detach the host's root: $!\n";
chdir('/') or die "pivot-exec: cd /: $!\n";
# Nothing of the host may be left above the guest's root.
my @top = stat('/');
my @up = stat('/..');
die "pivot-exec: the host's root is still reachable\n" unless @top && @up && $top[0] == $up[0] && $top[1] == $up[1];

# --- subhost-init's filesystems, as its mount(8), mknod(1), ln(1), mkdir(1) calls made them ---

my ($RDONLY, $NOSUID, $NODEV, $NOEXEC, $REMOUNT, $BIND, $SILENT) = (1, 2, 4, 8, 32, 4096, 32768);
# The per-mount options of mountinfo, as flags: a bind remount keeps those it does not change.
my %PER_MOUNT = (ro => $RDONLY, nosuid => $NOSUID, nodev => $NODEV, noexec => $NOEXEC, noatime => 1024, nodiratime => 2048, relatime => 1 << 21, nosymfollow => 256);
my ($S_IFIFO, $S_IFCHR, $S_IFBLK, $AT_FDCWD) = (0010000, 0020000, 0060000, -100);

sub note { print "subhost-init: $_[0]\n"; }
sub fatal { note($_[0]); exit 1; }

# mount(2) with mount(8)'s MS_SILENT; an undefined source, type or data is NULL.
sub mnt {
	my ($source, $target, $type, $flags, $data) = @_;
	return syscall($mount_nr + 0, defined $source ? "$source" : 0, "$target", defined $type ? "$type" : 0, $flags | $SILENT, defined $data ? "$data" : 0) == 0;
}

# The current per-mount flags of the mount at $point (the last one there), from our own mountinfo.
sub flags_of {
	my ($point) = @_;
	open(my $info, '<', '/proc/self/mountinfo') or return 0;
	my $options;
	while (my $line = <$info>) {
		my @f = split / /, $line;
		(my $at = $f[4]) =~ s/\\([0-7]{3})/chr(oct($1))/ge;
		$options = $f[5] if $at eq $point;
	}
	close($info);
	my $flags = 0;
	$flags |= $PER_MOUNT{$_} || 0 for split /,/, (defined $options ? $options : '');
	return $flags;
}

# `mount -o remount,bind,OPT`: the mount's own flags, OPT's set and cleared.
sub remount_bind {
	my ($point, $set, $clear) = @_;
	return mnt(undef, $point, undef, ((flags_of($point) & ~$clear) | $set | $REMOUNT | $BIND), undef);
}

sub mknod {
	my ($path, $mode, $major, $minor) = @_;
	# The kernel's 32-bit encoding of dev_t (new_encode_dev).
	my $dev = ($minor & 0xff) | ($major << 8) | (($minor & ~0xff) << 12);
	return syscall($mknodat_nr + 0, $AT_FDCWD, "$path", $mode, $dev) == 0;
}
sub node { mknod(@_) or note("cannot create $_[0]: $!"); }
sub link_ { symlink($_[0], $_[1]) or note("cannot link $_[1]: $!"); }
sub dir { mkdir($_[0], $_[1]) && chmod($_[1], $_[0]) or note("cannot make $_[0]: $!"); }

# Modes are given whole, as mknod -m and mkdir -m give them; the guest's sh gets our umask back.
my $umask = umask(0);

# /proc first: this PID namespace's own.
mnt('proc', '/proc', 'proc', $NOSUID | $NODEV | $NOEXEC, undef) or fatal("cannot mount /proc: $!");
# The host mounts our root nosuid, so that host users cannot run our setuid programs; inside they work.
remount_bind('/', 0, $NOSUID) or note("cannot allow setuid programs on /: $!");

# /proc, /sys and /dev must be ours: without them the protections below would see nothing to protect.
mnt('sysfs', '/sys', 'sysfs', $RDONLY | $NOSUID | $NODEV | $NOEXEC, undef) or fatal("cannot mount /sys: $!");

mnt('devtmp', '/dev', 'tmpfs', $NOSUID | $NOEXEC, 'mode=755,size=1m') or fatal("cannot mount /dev: $!");
node("/dev/$_->[0]", $S_IFCHR | 0666, $_->[1], $_->[2]) for ([null => 1, 3], [zero => 1, 5], [full => 1, 7], [random => 1, 8], [urandom => 1, 9], [tty => 5, 0]);
link_('/proc/self/fd', '/dev/fd');
link_('/proc/self/fd/0', '/dev/stdin');
link_('/proc/self/fd/1', '/dev/stdout');
link_('/proc/self/fd/2', '/dev/stderr');
# The console is PID 1's output, which subhost keeps in the subhost's log.
link_('/proc/1/fd/1', '/dev/console');
dir('/dev/pts', 0755);
dir('/dev/shm', 01777);
# A devpts instance of our own: the host's ptys stay invisible.
mnt('devpts', '/dev/pts', 'devpts', $NOSUID | $NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5') or note("cannot mount /dev/pts: $!");
link_('pts/ptmx', '/dev/ptmx');
mnt('shm', '/dev/shm', 'tmpfs', $NOSUID | $NODEV, 'mode=1777') or note("cannot mount /dev/shm: $!");
if ($set_up{TUN} eq 'yes') {
	dir('/dev/net', 0755);
	node('/dev/net/tun', $S_IFCHR | 0666, 10, 200);
}
for my $spec (split /,/, $set_up{DEVICES}) {
	my ($node, $major, $minor) = split /:/, $spec, 3;
	if (defined $minor && $major =~ /\A[0-9]+\z/ && $minor =~ /\A[0-9]+\z/) {
		node("/dev/$node", $S_IFBLK | 0660, $major, $minor);
	} else {
		note("cannot create /dev/$node: not NODE:MAJOR:MINOR");
	}
}

# Before any guest program runs, what reaches the host kernel becomes read-only or masked (the
# table and the reasons are subhost's src/core/guest/hardening.ts). Read-only first, so that a
# writable path below one (/proc/sys/net) is bound from it and made writable again; then the masks,
# over files with /dev/null, over directories with an empty read-only tmpfs. A path this kernel
# lacks is skipped; a protection that cannot be applied stops the boot.
sub protect {
	my ($how, $path) = @_;
	return 1 unless -e $path;
	return mnt($path, $path, undef, $BIND, undef) && remount_bind($path, $RDONLY, 0) if $how eq 'read-only';
	return mnt($path, $path, undef, $BIND, undef) && remount_bind($path, 0, $RDONLY) if $how eq 'writable';
	return mnt('subhost-mask', $path, 'tmpfs', $RDONLY | $NOSUID | $NODEV | $NOEXEC, 'mode=555,size=4k') if -d $path;
	return mnt('/dev/null', $path, undef, $BIND, undef);
}
for my $list (['read-only', 'READONLY'], ['writable', 'WRITABLE'], ['masked', 'MASKED']) {
	for my $path (split /,/, $set_up{ $list->[1] }) {
		protect($list->[0], $path) or fatal("cannot make $path $list->[0]: $!");
	}
}

mnt('run', '/run', 'tmpfs', $NOSUID | $NODEV, 'mode=755') or note("cannot mount /run: $!");
# mkdir -p: what exists is left as it is.
-d '/run' or mkdir('/run', 0755);
(mkdir('/run/lock', 01777) ? chmod(01777, '/run/lock') : -d '/run/lock') or note("cannot make /run/lock: $!");
mknod('/run/initctl', $S_IFIFO | 0600, 0, 0) or note("cannot create /run/initctl: $!");

if ($set_up{HOSTNAME} ne '') {
	my $name = "$set_up{HOSTNAME}";
	syscall($sethostname_nr + 0, $name, length($name)) == 0 or note("cannot set the host name: $!");
}
umask($umask);

# The text goes in the environment, not in argv, so that ps shows PID 1 as one short line.
$ENV{SUBHOST_INIT_TEXT} = $script;
exec { '/bin/sh' } '/bin/sh', '-c', 'init=$SUBHOST_INIT_TEXT; unset SUBHOST_INIT_TEXT; eval "$init"', 'subhost-init'
  or die "pivot-exec: cannot run the guest's /bin/sh: $!\n";
