import type { Handlers } from '../plan/executor';
import type { SubhostStepKinds } from '../plan/subhost-steps';
import { cgroupCreate, ioAccounting } from './cgroup';
import type { SubhostContext } from './context';
import { devicesRestrict } from './devices';
import { loopAttach, partitionDevice } from './disks';
import { startInit } from './init';
import { bindRoot, mountImage, mountOverlay } from './layout-mounts';
import { mountRoot } from './mounts';
import { netnsAdd, vethsAdd } from './network';
import { startShell } from './shell';

/** Every step kind a subhost plan may contain, and the code that applies and undoes it (the type makes it complete). */
export const SUBHOST_HANDLERS: Handlers<SubhostStepKinds, SubhostContext> = {
  'loop-attach': loopAttach,
  partition: partitionDevice,
  'mount-root': mountRoot,
  'mount-image': mountImage,
  'mount-overlay': mountOverlay,
  'bind-root': bindRoot,
  cgroup: cgroupCreate,
  'io-accounting': ioAccounting,
  devices: devicesRestrict,
  netns: netnsAdd,
  veths: vethsAdd,
  'start-init': startInit,
  'start-shell': startShell,
};
