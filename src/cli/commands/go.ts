import { withContext } from '../../errors';
import { go } from '../../ganeti/go';
import type { Runtime } from '../../core/state/runtime';

export default async function goCommand(rt: Runtime, [name, cmd]: [string, string[]]): Promise<number> {
  return withContext(`go ${name}`, () => go(rt, name, cmd ?? []));
}
