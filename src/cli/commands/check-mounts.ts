import type { Command } from 'commander';
import { checkMounts, type CheckReport } from '../../core/inspect/check-mounts';
import { checkName } from '../../core/config/names';
import type { Runtime } from '../../core/state/runtime';
import { table } from '../../plain-text';
import { errLine, out, printJson } from '../format/output';

/** 1.5G, 980M: df -h style. */
export function humanBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}

export function reportLines(r: CheckReport): string[] {
  const lines: string[] = [];
  const fs = [['NAME', 'STATE', 'MOUNT', 'SOURCE', 'TYPE', 'SIZE', 'USED', 'FREE', 'USE%', 'INODES%', '']];
  for (const s of r.subhosts) {
    for (const f of s.filesystems) {
      fs.push([s.name, s.state, f.mountPoint, f.source, f.fsType, humanBytes(f.sizeBytes), humanBytes(f.usedBytes), humanBytes(f.freeBytes), `${f.usedPercent}%`, `${f.inodesUsedPercent}%`, f.overThreshold ? `over ${r.thresholdPercent}%` : '']);
    }
  }
  if (fs.length > 1) lines.push(...table(fs), '');
  for (const f of r.fixed ?? []) lines.push(`released: ${f.kind} ${f.id} (${f.subhost || '?'})`);
  if (r.leftovers.length) {
    lines.push(...table([['LEFTOVER', 'SUBHOST', 'WHAT', 'DETAIL'], ...r.leftovers.map((l) => [l.kind, l.subhost, l.id, l.detail ?? ''])]));
  }
  for (const d of r.doubleMounts) lines.push(`mounted twice: ${d.image} through ${d.mounts.map((m) => `${m.dev} on ${m.mountPoint}`).join(' and ')}`);
  const full = r.subhosts.flatMap((s) => s.filesystems.filter((f) => f.overThreshold));
  const summary = [
    r.leftovers.length ? `${r.leftovers.length} left over${r.fixed ? ' after --fix' : ' (--fix releases them)'}` : 'nothing left over',
    full.length ? `${full.length} filesystem${full.length > 1 ? 's' : ''} at or over ${r.thresholdPercent}%` : `no filesystem at or over ${r.thresholdPercent}%`,
    ...(r.doubleMounts.length ? [`${r.doubleMounts.length} image${r.doubleMounts.length > 1 ? 's' : ''} mounted twice`] : []),
    ...(r.fixed ? [`${r.fixed.length} released`] : []),
  ];
  lines.push(`check-mounts: ${summary.join(', ')}`);
  return lines;
}

export default async function checkMountsCommand(rt: Runtime, [names]: [string[]], cmd: Command): Promise<number> {
  const o = cmd.opts<{ fix?: boolean; json?: boolean; threshold: number }>();
  for (const n of names ?? []) checkName(n);
  const report = await checkMounts(rt, { fix: o.fix, thresholdPercent: o.threshold, names: names?.length ? names : undefined });
  if (o.json) printJson(report);
  else reportLines(report).forEach((l) => out(l));
  for (const e of report.errors) errLine(`subhost: check-mounts --fix: ${e}`);
  return report.ok ? 0 : 1;
}
