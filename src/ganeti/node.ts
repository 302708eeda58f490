import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';

/** This host's name as Ganeti would see it: the kernel's (UTS) host name. */
export function thisHost(): string {
  return hostname();
}

/** Node names are FQDNs; a host may call itself by its short name only. */
export function isThisNode(node: string, host = thisHost()): boolean {
  const n = node.toLowerCase();
  const h = host.toLowerCase();
  return n === h || (!h.includes('.') && n.startsWith(`${h}.`)) || (!n.includes('.') && h.startsWith(`${n}.`));
}

/** The operator's settings: GANETI_MASTER, GANETI_SSH_CONFIG; SUBHOST_DEFAULTS names another file (tests). */
export function readDefaults(env: NodeJS.ProcessEnv): { file: string; vars: Record<string, string> } {
  const file = env.SUBHOST_DEFAULTS || '/etc/default/subhost';
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { file, vars: {} };
  }
  return { file, vars: parseDefaults(text) };
}

/** KEY=value lines as /etc/default files have them (optionally quoted, `export` allowed); no shell evaluation. */
export function parseDefaults(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    let v = m[2].trim();
    if (/^"[^"]*"$/.test(v) || /^'[^']*'$/.test(v)) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    vars[m[1]] = v;
  }
  return vars;
}
