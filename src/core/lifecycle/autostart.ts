import { asSubhostError } from '../../errors';
import { loadConfig } from '../config';
import type { Runtime } from '../runtime';
import { known } from './active';
import { boot } from './boot';
import { subhostNames } from './info';

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
      if (known(rt, name).derived.state !== 'stopped') {
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
