import type { Command } from 'commander';
import type { Runtime } from '../../core/runtime';
import { runDaemon } from '../../daemon/process';
import { UsageError } from '../../errors';

export const DEFAULT_LISTEN = '127.0.0.1:9847';

/** ADDR:PORT, [IPv6]:PORT -> host and port (0: any free port). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  if (!m || Number(m[3]) > 65535) throw new UsageError(`daemon: --listen ${JSON.stringify(value)}: use ADDR:PORT, e.g. ${DEFAULT_LISTEN} or [::1]:9847`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

export default async function daemonCommand(rt: Runtime, _args: unknown[], cmd: Command): Promise<number> {
  const o = cmd.opts<{ listen: string; interval: number; db: string; hostname?: string }>();
  const { host, port } = parseListen(o.listen);
  if (!(o.interval > 0)) throw new UsageError('daemon: --interval must be more than 0 seconds');
  if (o.hostname !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(o.hostname)) throw new UsageError(`daemon: --hostname ${JSON.stringify(o.hostname)}: use letters, digits, '.' and '-'`);
  const vmPrefix = rt.env.SUBHOST_DAEMON_VM_PREFIX || undefined;
  return runDaemon(rt, { host, port, intervalSeconds: o.interval, db: o.db, hostname: o.hostname, vmPrefix });
}

