import { autostart } from '../../core/lifecycle/autostart';
import type { Runtime } from '../../core/state/runtime';
import { out } from '../format/output';

export default async function autostartCommand(rt: Runtime): Promise<number> {
  const results = await autostart(rt);
  for (const r of results) {
    if (r.outcome === 'failed') process.stderr.write(`subhost: ${r.name}: ${r.message}\n`);
    else out(`${r.name}: ${r.outcome === 'booted' ? 'booted' : 'already running'}`);
  }
  if (!results.length) out('no subhost has AUTOSTART=yes');
  return results.some((r) => r.outcome === 'failed') ? 1 : 0;
}
