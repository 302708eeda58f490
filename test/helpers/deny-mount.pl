# deny-mount: run a command under a seccomp filter that fails with EPERM every mount(2) whose flags
# include all of MASK (e.g. MS_REMOUNT|MS_BIND|MS_RDONLY), in that command and everything it starts:
# a kernel that refuses one mount, for the tests of what subhost does then.
# Usage: perl deny-mount.pl AUDIT_ARCH PRCTL_NR MOUNT_NR MASK -- COMMAND ARG...
use strict;
use warnings;

my ($arch, $prctl_nr, $mount_nr, $mask, $dashes, @command) = @ARGV;
die "deny-mount: usage: AUDIT_ARCH PRCTL_NR MOUNT_NR MASK -- COMMAND ARG...\n" unless defined $dashes && $dashes eq '--' && @command;
my ($LD_ABS_W, $JEQ_K, $AND_K, $RET_K) = (0x20, 0x15, 0x54, 0x06);
my ($ALLOW, $EPERM) = (0x7fff0000, 0x00050000 | 1);
# struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (the low half first: little-endian).
my @program = (
	[$LD_ABS_W, 0, 0, 4], [$JEQ_K, 0, 5, oct($arch)],
	[$LD_ABS_W, 0, 0, 0], [$JEQ_K, 0, 3, $mount_nr],
	[$LD_ABS_W, 0, 0, 16 + 8 * 3], [$AND_K, 0, 0, $mask], [$JEQ_K, 1, 0, $mask],
	[$RET_K, 0, 0, $ALLOW], [$RET_K, 0, 0, $EPERM],
);
my $filter = join '', map { pack('SCCL', @$_) } @program;
my $fprog = pack('Sx6J', scalar @program, unpack('J', pack('p', $filter)));
my ($PR_SET_SECCOMP, $SECCOMP_MODE_FILTER) = (22, 2);
syscall($prctl_nr + 0, $PR_SET_SECCOMP, $SECCOMP_MODE_FILTER, $fprog) == 0 or die "deny-mount: prctl: $!\n";
exec { $command[0] } @command or die "deny-mount: $command[0]: $!\n";
