import type { Pressure, UsageRecord } from '../../core/usage/record';
import { formatSeconds as seconds, humanBytes, table } from '../../plain-text';

function psi(p: Pressure | null): string {
  return p ? `${p.some.avg10.toFixed(2)}%` : '-';
}

/** `subhost usage` as a table: one row per record, the host's name in every row. */
export function usageTable(records: UsageRecord[]): string[] {
  const rows = [['HOST', 'KIND', 'NAME', 'CPU-USER', 'CPU-SYS', 'MEM', 'MEM-PEAK', 'IO-READ', 'IO-WRITE', 'TASKS', 'PSI-CPU', 'PSI-MEM', 'PSI-IO']];
  for (const r of records) {
    rows.push([
      r.host,
      r.kind,
      r.name,
      seconds(r.cpu.userSeconds),
      seconds(r.cpu.systemSeconds),
      humanBytes(r.memory.currentBytes),
      humanBytes(r.memory.peakBytes),
      humanBytes(r.io.readBytes),
      humanBytes(r.io.writeBytes),
      r.tasks.count === null ? '-' : String(r.tasks.count),
      psi(r.pressure.cpu),
      psi(r.pressure.memory),
      psi(r.pressure.io),
    ]);
  }
  return table(rows);
}
