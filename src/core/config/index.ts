import { existsSync } from 'node:fs';
import { ConfigError } from '../../errors';
import { checkName } from './names';
import type { Paths } from '../state/paths';
import { loadRawConfig } from './load';
import type { SubhostConfig } from './types';
import { validateConfig } from './validate';

/** Read and validate NAME's config (file, then environment); touches nothing on the host. */
export async function loadConfig(paths: Paths, name: string, opts: { configFile?: string; env: NodeJS.ProcessEnv }): Promise<SubhostConfig> {
  checkName(name);
  const file = opts.configFile ?? paths.config(name);
  const raw = await loadRawConfig({ file, explicit: opts.configFile !== undefined, name, env: opts.env });
  if (!raw.file && raw.fromEnv.length === 0 && !existsSync(paths.subhostDir(name))) {
    throw new ConfigError(`no subhost ${name}: ${paths.subhostDir(name)} does not exist and no config was given`);
  }
  return validateConfig(name, raw.vars, paths.subhostDir(name), { file: raw.file, fromEnv: raw.fromEnv });
}
