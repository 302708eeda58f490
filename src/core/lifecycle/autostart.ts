import { asSubhostError } from '../../errors';
import { loadConfig } from '../config';
import type { Runtime } from '../state/runtime';
import { known } from '../state/active';
import { boot } from './boot';
import { subhostNames } from '../inspect/info';

export interface AutostartResult {
  name: string;
  outcome: 'booted' | 'running' | 'skipped' | 'failed';
  message?: string;
}

/**
 * `subhost autostart`: boot every stopped subhost whose config says AUTOSTART=yes (host start-up),
 * `parallel` at a time; one that fails is reported and does not stop the others.
 */
export async function autostart(rt: Runtime, parallel = 1, onResult: (r: AutostartResult) => void = () => undefined): Promise<AutostartResult[]> {
  const results: AutostartResult[] = [];
  const names = subhostNames(rt);
  let next = 0;
  const one = async (name: string): Promise<AutostartResult | undefined> => {
    try {
      const cfg = await loadConfig(rt.paths, name, { env: {} });
      if (!cfg.autostart) return undefined;
      if (known(rt, name).derived.state !== 'stopped') return { name, outcome: 'running' };
      await boot(rt, name);
      return { name, outcome: 'booted' };
    } catch (err) {
      return { name, outcome: 'failed', message: asSubhostError(err).message };
    }
  };
  const worker = async () => {
    while (next < names.length) {
      const r = await one(names[next++]);
      if (r) {
        results.push(r);
        onResult(r);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, names.length)) }, worker));
  return results.sort((a, b) => a.name.localeCompare(b.name));
}
