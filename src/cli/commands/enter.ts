import { enter } from '../../core/lifecycle/enter';
import type { Runtime } from '../../core/state/runtime';

export default function enterCommand(rt: Runtime, [name, cmd]: [string, string[]]): Promise<number> {
  return enter(rt, name, cmd ?? []);
}
