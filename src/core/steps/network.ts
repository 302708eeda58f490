import { SubhostError } from '../../errors';
import { callAsTool, nativeNetns, nativeVeths } from '../../host/exec';
import { crashPoint } from '../../test-hooks';
import { ipBatch, ipBatchForce, isBridge, linkExists, readIfalias } from '../../host/ip';
import { dropNetns, netnsExists, netnsPath } from '../../host/netns';
import type { StepHandler } from '../plan/executor';
import type { SubhostContext } from './context';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    netns: NetnsParams;
    veths: VethsParams;
  }
}

export interface NetnsParams {
  netns: string;
  /** Set on `lo` inside: how stop and check-mounts know the namespace is this subhost's. */
  alias?: string;
}

export interface VethLink {
  host: string;
  inside: string;
  mac: string;
  hostMac: string;
  bridge: string;
}

export interface VethsParams {
  netns: string;
  /** ifalias on the host end: how stop and check-mounts know the link is this subhost's. */
  alias: string;
  links: VethLink[];
}

export const netnsAdd: StepHandler<NetnsParams, { netns: string }, SubhostContext> = {
  check(p, ctx) {
    if (netnsExists(p.netns)) throw new SubhostError(`network namespace ${p.netns} already exists (left over? \`subhost stop ${ctx.name}\` releases it)`);
  },
  async apply(p) {
    // Marked as it is made (the addon binds it to its name only once marked; ip in one process).
    const calls = nativeNetns();
    if (calls) await callAsTool(['ip', 'netns', 'add', p.netns], 1, () => calls.addNetns(netnsPath(p.netns), p.alias ?? ''));
    else await ipBatch(netnsBatch(p));
    return { netns: p.netns };
  },
  async undo(p) {
    if (netnsExists(p.netns)) await dropNetns(p.netns);
  },
};

export function netnsBatch(p: NetnsParams): string[] {
  return [`netns add ${p.netns}`, `netns exec ${p.netns} ip link set lo up${p.alias ? ` alias ${p.alias}` : ''}`];
}

/** A host link we may delete: it carries our alias, or it has the exact name we gave it and no alias yet. */
export function isOurLink(ifname: string, alias: string): boolean {
  const a = readIfalias(ifname);
  return a === alias || a === '';
}

export function vethBatch(p: VethsParams): string[] {
  return p.links.flatMap((l) => [
    `link add ${l.host} address ${l.hostMac} type veth peer name ${l.inside} address ${l.mac} netns ${p.netns}`,
    `link set ${l.host} alias ${p.alias} master ${l.bridge} up`,
  ]);
}

export const vethsAdd: StepHandler<VethsParams, { hosts: string[] }, SubhostContext> = {
  check(p) {
    for (const l of p.links) {
      if (linkExists(l.host)) throw new SubhostError(`interface ${l.host} already exists on the host`);
      if (!isBridge(l.bridge)) throw new SubhostError(`${l.bridge} is not a bridge`);
    }
  },
  async apply(p) {
    const calls = nativeVeths();
    if (!calls) await ipBatch(vethBatch(p));
    else {
      // vethBatch's two requests per link, without ip's process. A boot killed between them leaves an
      // unmarked host end whose peer is inside NAME's namespace: the pair goes with it (stop drops it).
      for (const l of p.links) {
        const [add, mark] = vethBatch({ ...p, links: [l] }).map((line) => ['ip', ...line.split(' ')]);
        await callAsTool(add, 2, () => calls.addVeth(netnsPath(p.netns), l.host, l.hostMac, l.inside, l.mac));
        crashPoint(process.env, 'boot:veths:added');
        await callAsTool(mark, 2, () => calls.markVeth(l.host, p.alias, l.bridge));
      }
    }
    return { hosts: p.links.map((l) => l.host) };
  },
  async undo(p) {
    const ours = p.links.map((l) => l.host).filter((h) => linkExists(h) && isOurLink(h, p.alias));
    const err = await ipBatchForce(ours.map((h) => `link del ${h}`));
    const left = ours.filter(linkExists);
    if (left.length) throw new SubhostError(`could not delete ${left.join(', ')}: ${err.trim()}`);
  },
};
