import { usesV1Devices } from '../../core/cgroups/devices';
import type { HardeningInfo, PathState } from '../../core/inspect/hardening-info';

const STATE_WORDS: [PathState['state'], string][] = [
  ['read-only', 'read-only'],
  ['writable', 'writable'],
  ['masked', 'masked'],
  ['unprotected', 'NOT masked'],
  ['absent', 'not in this kernel'],
];

/** "read-only sys bus; writable sys/net; masked keys" for the paths under /proc or /sys. */
function pathsLine(h: HardeningInfo, root: '/proc' | '/sys'): string {
  const under = h.paths.filter((p) => p.path.startsWith(`${root}/`));
  const groups = STATE_WORDS.map(([state, word]) => {
    const names = under.filter((p) => p.state === state).map((p) => p.path.slice(root.length + 1));
    return names.length ? `${word} ${names.join(' ')}` : '';
  }).filter(Boolean);
  return [...(root === '/sys' ? [h.sys] : []), ...groups].join('; ');
}

function devicesLine(h: HardeningInfo): string {
  const d = h.devices;
  const why = h.problems.find((p) => /device/.test(p));
  if (!d.restricted) return `NOT restricted${why ? `: ${why}` : ''}`;
  const how = [`device eBPF program ${d.program!.id} on ${d.program!.attachedTo}`, ...(usesV1Devices(d.control) ? ['the cgroup v1 devices controller'] : [])];
  return `only ${d.allowed.map((a) => a.what).join(' ')} (${how.join(', and ')})`;
}

/** `status` lines (key, value) for the hardening in force. */
export function hardeningLines(h: HardeningInfo): [string, string][] {
  return [
    ['caps', `dropped ${h.capabilitiesDropped.join(' ') || 'none'}`],
    ['/proc', pathsLine(h, '/proc')],
    ['/sys', pathsLine(h, '/sys')],
    ['devices', devicesLine(h)],
    ...h.problems.map((p): [string, string] => ['NOT in force', p]),
  ];
}
