import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FALLBACK_MIRROR = 'http://deb.debian.org/debian';
const DEBIAN_SUITES = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|stable|oldstable|testing|unstable)$/;

interface Source {
  uris: string[];
  suites: string[];
  components: string[];
}

/** One-line (sources.list) and deb822 (.sources) entries of type deb (pure). */
export function parseSources(text: string, deb822: boolean): Source[] {
  if (!deb822) {
    return text.split('\n').flatMap((line) => {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line.replace(/#.*/, ''));
      return m ? [{ uris: [m[1]], suites: [m[2]], components: m[3].split(/\s+/).filter(Boolean) }] : [];
    });
  }
  return text.split(/\n\s*\n/).flatMap((stanza) => {
    const f: Record<string, string> = {};
    let key = '';
    for (const line of stanza.split('\n')) {
      if (/^\s*#/.test(line)) continue;
      const m = /^([\w-]+):\s*(.*)$/.exec(line);
      if (m) f[(key = m[1].toLowerCase())] = m[2];
      else if (key && /^\s/.test(line)) f[key] += ` ${line.trim()}`;
    }
    if (!(f.types ?? '').split(/\s+/).includes('deb') || (f.enabled ?? 'yes') === 'no') return [];
    const words = (k: string) => (f[k] ?? '').split(/\s+/).filter(Boolean);
    return [{ uris: words('uris'), suites: words('suites'), components: words('components') }];
  });
}

/** The Debian archive among entries: a plain suite name (not -security, -updates) with main. */
export function pickMirror(sources: Source[]): string | undefined {
  for (const s of sources) {
    if (s.suites.some((x) => DEBIAN_SUITES.test(x)) && s.components.includes('main') && s.uris.length) return s.uris[0].replace(/\/+$/, '');
  }
  return undefined;
}

/** The mirror the host's apt uses for Debian, or deb.debian.org. */
export function hostMirror(aptDir = '/etc/apt'): string {
  const sources: Source[] = [];
  const read = (file: string, deb822: boolean) => {
    try {
      sources.push(...parseSources(readFileSync(file, 'utf8'), deb822));
    } catch {
      /* absent */
    }
  };
  read(join(aptDir, 'sources.list'), false);
  let names: string[] = [];
  try {
    names = readdirSync(join(aptDir, 'sources.list.d')).sort();
  } catch {
    /* none */
  }
  for (const n of names) {
    if (n.endsWith('.list')) read(join(aptDir, 'sources.list.d', n), false);
    if (n.endsWith('.sources')) read(join(aptDir, 'sources.list.d', n), true);
  }
  return pickMirror(sources) ?? FALLBACK_MIRROR;
}
