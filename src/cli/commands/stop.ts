import { release } from '../../core/lifecycle/stop';
import type { Runtime } from '../../core/runtime';
import { out } from '../output';

export default async function stopCommand(rt: Runtime, [name]: [string]): Promise<number> {
  const r = await release(rt, name);
  out(r.released ? `${name}: stopped` : `${name}: already stopped`);
  return 0;
}
