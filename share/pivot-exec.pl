# pivot-exec: the last host program on the way into a subhost (share/pid1-stage.sh runs it as PID 1
# of the new namespaces). In this one process, with no exec in between, it pivots into the guest's
# root, detaches the host's root and only then runs the guest's /bin/sh on subhost-init's text (`sh -c 'eval ...' subhost-init`): no
# file of the guest is run, and no library of it loaded, while the host's root is reachable (after
# pivot_root the host's programs cannot be run any more: their loader would be the guest's). perl-base
# is Essential on Debian; util-linux has no tool that pivots, detaches and execs in one process.
#
# Usage: perl pivot-exec.pl ROOT INIT PIVOT_ROOT_NR UMOUNT2_NR
#   ROOT  the guest's mounted root filesystem; INIT  the host's share/subhost-init (read before the pivot)
#   *_NR  the syscall numbers on this architecture (src/core/steps/pivot.ts)
use strict;
use warnings;

my ($root, $init, $pivot_nr, $umount2_nr) = @ARGV;
die "pivot-exec: usage: ROOT INIT PIVOT_ROOT_NR UMOUNT2_NR\n" unless defined $umount2_nr;
my $MNT_DETACH = 2;

open(my $fh, '<', $init) or die "pivot-exec: cannot read $init: $!\n";
my $script = do { local $/; <$fh> };
close($fh);

chdir($root) or die "pivot-exec: cannot enter $root: $!\n";
my $dot = '.';
# pivot_root(".", "."): the host's root ends up stacked over the guest's, and umount2 detaches it.
syscall($pivot_nr + 0, $dot, $dot) == 0 or die "pivot-exec: pivot_root into $root: $!\n";
syscall($umount2_nr + 0, $dot, $MNT_DETACH) == 0 or die "pivot-exec: cannot detach the host's root: $!\n";
chdir('/') or die "pivot-exec: cd /: $!\n";
# Nothing of the host may be left above the guest's root.
my @top = stat('/');
my @up = stat('/..');
die "pivot-exec: the host's root is still reachable\n" unless @top && @up && $top[0] == $up[0] && $top[1] == $up[1];

# The text goes in the environment, not in argv, so that ps shows PID 1 as one short line.
delete $ENV{LC_ALL};
$ENV{SUBHOST_INIT_TEXT} = $script;
exec { '/bin/sh' } '/bin/sh', '-c', 'init=$SUBHOST_INIT_TEXT; unset SUBHOST_INIT_TEXT; eval "$init"', 'subhost-init'
  or die "pivot-exec: cannot run the guest's /bin/sh: $!\n";
