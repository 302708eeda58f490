import type { Command } from 'commander';
import type { Runtime } from '../../core/state/runtime';
import { FORMATS, formatReservations, type Format } from '../../dhcp/formats';
import { collectReservations } from '../../dhcp/reservations';
import { replaceFile, writeHostsDir } from '../../dhcp/write';
import { UsageError } from '../../errors';
import { out, outText } from '../format/output';

export default async function dhcpCommand(rt: Runtime, [names]: [string[]], cmd: Command): Promise<number> {
  const opts = cmd.opts<{ format: string; out?: string; hostsDir?: string }>();
  if (!(FORMATS as readonly string[]).includes(opts.format)) throw new UsageError(`--format ${opts.format}: expected ${FORMATS.join(', ')}`);
  if (opts.hostsDir !== undefined && opts.out !== undefined) throw new UsageError('--out and --hosts-dir: choose one');
  if (opts.hostsDir !== undefined && cmd.getOptionValueSource('format') !== 'default' && opts.format !== 'dnsmasq-hosts') {
    throw new UsageError(`--hosts-dir writes dnsmasq-hosts files, not ${opts.format}`);
  }
  // Everything is read and checked before anything is written.
  const { reservations, subhosts, all } = await collectReservations(rt, names);
  if (opts.hostsDir !== undefined) {
    const r = writeHostsDir(opts.hostsDir, reservations, subhosts, all);
    out(`${opts.hostsDir}: ${r.written.length} written, ${r.removed.length} removed, ${subhosts.length - r.written.length} unchanged`);
    return 0;
  }
  const text = formatReservations(reservations, opts.format as Format);
  if (opts.out !== undefined) replaceFile(opts.out, text);
  else outText(text);
  return 0;
}
