import { asSubhostError } from '../../errors';
import { loadConfig } from '../config';
import type { Runtime } from '../state/runtime';
import { deriveState, readState } from '../state/records';
import { boot } from './boot';
import { subhostNames } from '../inspect/info';

export interface AutostartResult {
  name: string;
  outcome: 'booted' | 'running' | 'skipped' | 'failed';
  message?: string;
}

/** `subhost autostart`: boot every stopped subhost whose config says AUTOSTART=yes (host start-up). */
export async function autostart(rt: Runtime): Promise<AutostartResult[]> {
  const results: AutostartResult[] = [];
  for (const name of subhostNames(rt)) {
    try {
      const cfg = await loadConfig(rt.paths, name, { env: {} });
      if (!cfg.autostart) continue;
      if (deriveState(readState(rt.paths, name)).state !== 'stopped') {
        results.push({ name, outcome: 'running' });
        continue;
      }
      await boot(rt, name);
      results.push({ name, outcome: 'booted' });
    } catch (err) {
      results.push({ name, outcome: 'failed', message: asSubhostError(err).message });
    }
  }
  return results;
}
