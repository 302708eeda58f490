import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { asSubhostError, SubhostError, UsageError } from '../errors';
import type { Runtime } from '../core/state/runtime';
import { exitWithoutTeardown } from './fast-exit';
import { watchStdStreams, writeFd } from './std-streams';

declare const SUBHOST_VERSION: string;
const VERSION = typeof SUBHOST_VERSION === 'string' ? SUBHOST_VERSION : '0.0.0-dev';

export interface GlobalOptions {
  root?: string;
  verbose?: boolean;
  timings?: boolean;
}

/** Parse a positive number of seconds for --timeout and the like. */
export function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected a number of seconds');
  return Number(value);
}

/** Parse a whole number of at least 1 (--parallel). */
export function count(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(value);
}

/** Repeatable option: every value, in order. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parse a percentage (1-100) for --threshold. */
export function percent(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 100) throw new InvalidArgumentError('expected a percentage from 1 to 100');
  return Number(value);
}

async function runtime(cmd: Command): Promise<Runtime> {
  const { Runtime } = await import('../core/state/runtime');
  const opts = cmd.optsWithGlobals() as GlobalOptions;
  return Runtime.fromEnv(process.env, opts.root);
}

/** A command's action loads its module only when it runs: start-up stays lean. */
type Loader = () => Promise<{ default: (rt: Runtime, args: any, cmd: Command) => Promise<number | void> }>;
const LOADERS: Loader[] = [];

/** Load every command module without running one (the build's code cache covers them all). */
export async function warmCommands(): Promise<void> {
  await Promise.all([...LOADERS.map((l) => l()), import('../core/state/runtime')]);
}

function action(load: Loader) {
  LOADERS.push(load);
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const args = all.slice(0, -1);
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    const timings = globals.timings ? await import('../core/plan/timings') : undefined;
    timings?.enableTimings();
    try {
      const code = await (await load()).default(await runtime(cmd), args, cmd);
      if (typeof code === 'number') process.exitCode = code;
    } finally {
      if (timings) writeFd(2, timings.formatTimings(timings.takeTimings(), globals.verbose).map((l) => `${l}\n`).join(''));
    }
  };
}

export function buildProgram(): Command {
  const program = new Command('subhost')
    .description('Boot VM disk images and overlay roots as system containers on the host kernel.')
    .version(VERSION, '-V, --version')
    .option('--root <dir>', 'folder of the subhosts (default $SUBHOST_ROOT or /opt/sub)')
    .option('--verbose', 'more detail in error messages (with --timings: every process spawned)')
    .option('--timings', 'print on stderr where the time went: each step (plan steps, locks, checks) with its start, duration and processes spawned')
    .exitOverride()
    .configureOutput({
      writeOut: (str) => writeFd(1, str),
      writeErr: (str) => writeFd(2, str),
      outputError: (str, write) => write(`subhost: ${str.replace(/^error: /, '').trim().replace(/\s*\n+\s*/g, ' ')}\n`),
    });

  program
    .command('boot')
    .description('boot NAME (disk images, an overlay over BASE, or its root folder): subhost-init becomes PID 1, detached from the terminal')
    .argument('<name...>', 'subhost name (1-13 of a-z 0-9 -); several boot as a batch')
    .option('--config <file>', 'config file instead of $SUBHOST_ROOT/NAME/config')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--parallel <n>', 'with several names, boot this many at a time', count, 1)
    .action(action(() => import('./commands/boot')));

  program
    .command('start')
    .description('start NAME with an interactive shell as PID 1 on this terminal (or reading stdin); when it exits, NAME is hibernated; on a hibernated NAME, resume')
    .argument('<name>', 'subhost name (1-13 of a-z 0-9 -)')
    .option('--config <file>', 'config file instead of $SUBHOST_ROOT/NAME/config')
    .option('--dry-run', 'print the plan and change nothing')
    .action(action(() => import('./commands/start')));

  program
    .command('enter')
    .description('run a shell, or CMD, inside running NAME; exits with its status')
    .argument('<name>')
    .argument('[cmd...]', 'command and arguments (after --)')
    .action(action(() => import('./commands/enter')));

  program
    .command('poweroff')
    .description("power NAME off as the guest's own poweroff would, then release everything")
    .argument('<name>')
    .option('--timeout <seconds>', 'wait this long for the guest before killing it', seconds, 60)
    .action(action(() => import('./commands/poweroff')));

  program
    .command('stop')
    .description('kill NAME and release all it holds (idempotent; also cleans up a failed subhost)')
    .argument('<name...>', 'one or more subhost names')
    .option('--parallel <n>', 'with several names, stop this many at a time', count, 1)
    .action(action(() => import('./commands/stop')));

  program
    .command('gnt-start')
    .description("boot Ganeti INSTANCE as a subhost on its primary node: its disks activated, disk N as vd<a+N>, NIC N as eth<N> on its bridge")
    .argument('<instance>', 'Ganeti instance name')
    .option('--dry-run', 'print the mapping and change nothing')
    .action(action(() => import('./commands/gnt-start')));

  program
    .command('gnt-stop')
    .description("power Ganeti INSTANCE's subhost off as poweroff does, then deactivate its disks (idempotent)")
    .argument('<instance>', 'Ganeti instance name')
    .option('--timeout <seconds>', 'wait this long for the guest before killing it', seconds, 60)
    .action(action(() => import('./commands/gnt-stop')));

  program
    .command('go')
    .description('enter NAME on the Ganeti node that runs it (asking the master), over ssh unless it is this node; exits with its status')
    .argument('<name>', 'Ganeti instance name')
    .argument('[cmd...]', 'command and arguments (after --)')
    .action(action(() => import('./commands/go')));

  program
    .command('list')
    .description('every subhost with its state, PID 1, uptime, disks and interfaces')
    .option('--json', 'JSON output (fields in the README)')
    .action(action(() => import('./commands/list')));

  program
    .command('status')
    .description('one subhost in detail')
    .argument('<name>')
    .option('--json', 'JSON output (fields in the README)')
    .action(action(() => import('./commands/status')));

  program
    .command('logs')
    .description("the console output of NAME's PID 1 (this boot and the one before)")
    .argument('<name>')
    .option('-f, --follow', 'keep printing new output while NAME runs')
    .action(action(() => import('./commands/logs')));

  program
    .command('autostart')
    .description('boot every stopped subhost whose config has AUTOSTART=yes (for host start-up); one that fails does not stop the others')
    .option('--parallel <n>', 'boot this many at a time', count, 4)
    .action(action(() => import('./commands/autostart')));

  program
    .command('usage')
    .description('CPU, memory, IO, tasks and pressure of every subhost and VM (or those named), with the host name')
    .argument('[names...]', 'subhost or VM names (default: all)')
    .option('--json', 'JSON output (fields in the README)')
    .option('--prometheus', 'Prometheus text format')
    .action(action(() => import('./commands/usage')));

  program
    .command('report')
    .description('usage over time from the history (or a Prometheus server): per period, host and subhost/VM, with totals')
    .argument('[names...]', 'subhost or VM names (default: all)')
    .option('--since <when>', '30m, 12h, 7d, 4w (ago) or an ISO 8601 date or time (default 7d)')
    .option('--until <when>', 'the same (default now)')
    .option('--by <period>', 'hour, day, week or month', 'day')
    .option('--format <format>', 'table, csv or json (units in the README)', 'table')
    .option('--utc', "periods in UTC, not the host's time zone")
    .option('--db <path>', 'history database (default /var/lib/subhost/history.sqlite)')
    .option('--prometheus <url>', 'read the figures of every host from this Prometheus server instead')
    .action(action(() => import('./commands/report')));

  program
    .command('cgroups')
    .description('the host cgroup hierarchy for subhosts and VMs')
    .command('setup')
    .description('make subhost/ and vm/, enable the controllers cgroup2 offers, move each VM process into vm/NAME (idempotent)')
    .option('--json', 'JSON output (fields in the README)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(action(() => import('./commands/cgroups-setup')));

  program
    .command('daemon')
    .description('the resident host daemon: usage history, VM placement, release of abandoned subhosts, HTTP metrics and API (one per host)')
    .option('--listen <addr:port>', 'HTTP address (read-only endpoints)', '127.0.0.1:9847')
    .option('--interval <seconds>', 'seconds between usage samples', seconds, 10)
    .option('--db <path>', 'history database (SQLite)', '/var/lib/subhost/history.sqlite')
    .option('--hostname <name>', 'host name in the history and metrics (default: this host\'s)')
    .action(action(() => import('./commands/daemon')));

  program
    .command('check-mounts')
    .description('space of every subhost filesystem, and anything left behind by subhosts that are not active; exit 1 if anything is wrong')
    .argument('[name...]', 'only these subhosts')
    .option('--fix', 'release the leftovers')
    .option('--threshold <percent>', 'warn at this much space or inodes used', percent, 90)
    .option('--json', 'JSON output (fields in the README)')
    .action(action(() => import('./commands/check-mounts')));

  program
    .command('bootstrap')
    .description('make a new subhost NAME: its folder, an editable config and a root filesystem (busybox, or Debian by debootstrap)')
    .argument('<name>', 'subhost name (1-13 of a-z 0-9 -)')
    .option('--from <source>', 'busybox, or debian[:SUITE] (default suite bookworm)')
    .option('--disk [size]', 'a sparse raw image NAME/disk1.raw with an MBR and one ext4 partition (the default, 2G)')
    .option('--dir', 'a directory subhost: the root filesystem is NAME/root/')
    .option('--base <dir>', 'an overlay subhost over the read-only DIR (folder and config only)')
    .option('--bridge <br[:mac]>', 'an interface on bridge BR (repeat for eth1…)', collect, [])
    .option('--hostname <name>', 'host name inside (default NAME)')
    .option('--address <cidr[,gateway]>', 'a static address for the interface of the same position (default DHCP)', collect, [])
    .option('--packages <p,…>', 'more Debian packages to install')
    .option('--mirror <url>', "Debian mirror (default: the one the host's apt uses)")
    .option('--force', 'replace an existing (stopped) NAME')
    .option('--check', 'boot it once without its network and power it off before reporting success')
    .option('--progress <mode>', 'auto (a bar on a terminal, plain lines otherwise), plain, json (one object a line on stdout) or none', 'auto')
    .action(action(() => import('./commands/bootstrap')));

  program
    .command('dhcp')
    .description("DHCP reservations (MAC, address, host name) for every subhost interface, from BRIDGES and ADDRESSES")
    .argument('[name...]', 'only these subhosts (duplicates are still checked against all)')
    .option('--format <format>', 'dnsmasq (dhcp-host= lines), dnsmasq-hosts (--dhcp-hostsfile lines), isc (dhcpd host blocks) or json', 'dnsmasq')
    .option('--out <file>', 'replace FILE atomically instead of printing')
    .option('--hosts-dir <dir>', "one file per subhost for dnsmasq's --dhcp-hostsdir; removes those of subhosts that are gone")
    .action(action(() => import('./commands/dhcp')));

  program
    .command('_reap', { hidden: true })
    .description('run by the supervisor when PID 1 has ended')
    .argument('<name>')
    .requiredOption('--boot-id <id>')
    .requiredOption('--status <n>')
    .action(action(() => import('./commands/reap')));

  return program;
}

/** The one place where errors become messages and exit codes. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    // A system call the host refused (ENOSPC, EACCES, EROFS…) is the host's answer, not a bug: one line, as boot's batch says it.
    if (!(err instanceof SubhostError) && err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') err = asSubhostError(err);
    if (err instanceof SubhostError) {
      writeFd(2, `subhost: ${err.message}\n`);
      if (verbose) for (const d of err.details) writeFd(2, `  ${d}\n`);
      return err instanceof UsageError ? 2 : err.exitCode;
    }
    writeFd(2, `subhost: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

export function run(): void {
  // A closed pipe (subhost list | head) ends the output, not with a stack trace (std-streams.ts).
  watchStdStreams();
  exitWithoutTeardown();
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
