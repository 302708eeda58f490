import type { InterfaceAddress } from './addresses';

export interface DiskSpec {
  /** Device node name inside the subhost: vda → /dev/vda1. */
  dev: string;
  /** Partition index; 0 = the whole image is one filesystem. */
  part: number;
  /** Absolute path of the image file (or block device) on the host. */
  image: string;
}

export interface BridgeSpec {
  bridge: string;
  mac: string;
  /** True when BRIDGES gave no MAC and it was derived from NAME and the index. */
  derivedMac: boolean;
}

export interface Limits {
  /** CPUs as a fraction: 1.5 → cpu.max "150000 100000". */
  cpus?: number;
  memory?: number;
  pids?: number;
  ioWeight?: number;
}

export interface SubhostConfig {
  name: string;
  disks: DiskSpec[];
  bridges: BridgeSpec[];
  /** ADDRESSES: one per interface, undefined for none (absent in records written before ADDRESSES). */
  addresses?: (InterfaceAddress | undefined)[];
  base?: string;
  hostname: string;
  limits: Limits;
  autostart: boolean;
  tun: boolean;
  /** Where it came from: the config file (if any) and the variables taken from the environment. */
  file?: string;
  fromEnv: string[];
}

export const CONFIG_VARS = ['DISKS', 'BRIDGES', 'BASE', 'HOSTNAME', 'CPUS', 'MEMORY', 'PIDS', 'IO_WEIGHT', 'AUTOSTART', 'TUN', 'ADDRESSES'] as const;
export type ConfigVar = (typeof CONFIG_VARS)[number];
export const ARRAY_VARS: ReadonlySet<ConfigVar> = new Set(['DISKS', 'BRIDGES', 'ADDRESSES']);

export type RawConfig = Partial<Record<ConfigVar, string | string[]>>;
