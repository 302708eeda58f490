import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../errors';
import { evaluateConfig } from './evaluate';
import { parseDeclarations } from './declare-parse';
import { ARRAY_VARS, CONFIG_VARS, type ConfigVar, type RawConfig } from './types';

export interface LoadedRaw {
  vars: RawConfig;
  file?: string;
  fromEnv: ConfigVar[];
}

/** bash evaluates the file in a clean environment (src/core/config/evaluate.ts); we read the variables back with declare -p. */
export async function readConfigFile(file: string, name: string, opts: { timeoutMs?: number } = {}): Promise<RawConfig> {
  try {
    accessSync(file, constants.R_OK);
    if (!statSync(file).isFile()) throw new Error('not a regular file');
  } catch (err) {
    throw new ConfigError(`config ${file}: cannot read it: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  const stdout = await evaluateConfig(file, CONFIG_VARS, { name, cwd: dirname(file), timeoutMs: opts.timeoutMs });
  const vars: RawConfig = {};
  for (const d of parseDeclarations(stdout)) {
    const key = d.name as ConfigVar;
    if (!d.value) continue;
    if (d.value.kind === 'assoc') throw new ConfigError(`config ${file}: ${key} is an associative array; use a plain array or string`);
    if (d.value.kind === 'array') vars[key] = d.value.values;
    else vars[key] = ARRAY_VARS.has(key) ? (d.value.value === '' ? [] : [d.value.value]) : d.value.value;
  }
  return vars;
}

/**
 * Variables from the environment (arrays as space-separated strings); the file wins.
 * HOSTNAME is not taken: shells and containers export it with the host's own name.
 */
export function envConfig(env: NodeJS.ProcessEnv): RawConfig {
  const vars: RawConfig = {};
  for (const key of CONFIG_VARS) {
    if (key === 'HOSTNAME') continue;
    const v = env[key];
    if (v === undefined) continue;
    vars[key] = ARRAY_VARS.has(key) ? v.split(/\s+/).filter(Boolean) : v;
  }
  return vars;
}

export async function loadRawConfig(opts: { file: string; explicit: boolean; name: string; env: NodeJS.ProcessEnv }): Promise<LoadedRaw> {
  const fromFile = opts.explicit || exists(opts.file) ? await readConfigFile(opts.file, opts.name) : undefined;
  const fromEnvVars = envConfig(opts.env);
  const vars: RawConfig = { ...fromEnvVars, ...(fromFile ?? {}) };
  const fromEnv = (Object.keys(fromEnvVars) as ConfigVar[]).filter((k) => !fromFile || !(k in fromFile));
  return { vars, file: fromFile ? opts.file : undefined, fromEnv };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
