import type { SubhostInfo } from '../../core/inspect/info';
import { hardeningLines } from './hardening';
import { mappingLines } from '../../ganeti/mapping';
import { formatDuration, formatSeconds, humanBytes, table } from '../../plain-text';

export function listTable(infos: SubhostInfo[]): string[] {
  // The GANETI column (instance@primary node) only where some subhost is a Ganeti instance.
  const gnt = infos.some((i) => i.ganeti);
  const rows = [['NAME', 'STATE', 'KIND', 'WRITABLE', 'PID1', 'UPTIME', 'DISKS', 'INTERFACES', ...(gnt ? ['GANETI'] : [])]];
  for (const i of infos) {
    rows.push([
      i.name,
      i.busy ? `${i.state} (${i.busy})` : i.state,
      i.kind,
      (i.base ? `${i.writable} over ${i.base}` : i.writable) ?? '-',
      i.pid1 ? String(i.pid1) : '-',
      i.uptimeSeconds !== undefined ? formatDuration(i.uptimeSeconds) : '-',
      i.disks.map((d) => `${d.node}${d.device ? `=${d.device}` : ''}`).join(',') || '-',
      i.interfaces.map((n) => `${n.host}>${n.inside}@${n.bridge}${n.addresses.length ? `(${n.addresses.join(',')})` : ''}`).join(' ') || '-',
      ...(gnt ? [i.ganeti ? `${i.ganeti.instance}@${i.ganeti.pnode}` : '-'] : []),
    ]);
  }
  return table(rows);
}

export function statusLines(i: SubhostInfo): string[] {
  const lines = [`${i.name}: ${i.state}${i.busy ? ` (${i.busy} in progress)` : ''}`];
  const kv = (k: string, v: string | number | undefined) => {
    if (v !== undefined && v !== '') lines.push(`  ${k.padEnd(11)} ${v}`);
  };
  kv('reason', i.reason);
  kv('kind', i.kind);
  kv('base', i.base);
  kv('writable', i.writable && i.imageFile ? `${i.writable} (in ${i.imageFile})` : i.writable);
  kv('mode', i.mode);
  kv('hostname', i.hostname);
  if (i.ganeti) mappingLines(i.ganeti).forEach((l, n) => lines.push(n === 0 ? `  ${'ganeti'.padEnd(11)} ${l}` : `  ${''.padEnd(11)} ${l.trim()}`));
  kv('pid 1', i.pid1);
  kv('supervisor', i.supervisor);
  kv('started', i.startedAt);
  kv('uptime', i.uptimeSeconds !== undefined ? formatDuration(i.uptimeSeconds) : undefined);
  kv('cgroup', i.cgroup);
  for (const l of i.limits ?? []) kv('limit', `${l.variable}: ${l.files.map((f) => `${f.path.split('/').pop()}=${f.value ?? '?'}`).join(' ')} (cgroup ${l.source} ${l.controller})${l.note ? `; ${l.note}` : ''}`);
  const u = i.usage;
  if (u) {
    kv('cpu', `${formatSeconds(u.cpu.userSeconds)} user, ${formatSeconds(u.cpu.systemSeconds)} system`);
    kv('memory', `${humanBytes(u.memory.currentBytes)} (peak ${humanBytes(u.memory.peakBytes)})`);
    kv('io', `${humanBytes(u.io.readBytes)} read, ${humanBytes(u.io.writeBytes)} written`);
    kv('tasks', u.tasks.count ?? '-');
  }
  for (const d of i.disks) kv('disk', `/dev/${d.node}  ${d.image}${d.partition ? ` partition ${d.partition}` : ''}${d.device ? `  on ${d.device} (${d.major}:${d.minor})` : ''}`);
  for (const n of i.interfaces) kv('interface', `${n.inside} ${n.mac}  host ${n.host} on ${n.bridge}${n.addresses.length ? `  ${n.addresses.join(' ')}` : ''}`);
  if (i.hardening) for (const [k, v] of hardeningLines(i.hardening)) kv(k, v);
  for (const k of i.kept ?? []) kv('kept', `${k.kind} ${k.id}${k.detail ? `  (${k.detail})` : ''}`);
  for (const w of i.warnings) kv('warning', w);
  kv('error', i.error);
  return lines;
}
