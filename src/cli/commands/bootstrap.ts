import type { Command } from 'commander';
import { bootstrap } from '../../bootstrap';
import { parseRequest, type BootstrapFlags } from '../../bootstrap/options';
import { makeProgress } from '../../bootstrap/progress';
import type { Runtime } from '../../core/state/runtime';
import { out } from '../format/output';

export default async function bootstrapCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  const req = parseRequest(name, cmd.opts<BootstrapFlags>());
  const progress = makeProgress(req.progress, name);
  let r;
  try {
    r = await bootstrap(rt, req, progress);
  } finally {
    progress.stop();
  }
  if (req.progress !== 'json') {
    out(`${name}: ${r.replaced ? 'replaced' : 'made'} ${r.dir} (${r.what}${r.checked ? ', booted and powered off once' : ''}) in ${r.seconds.toFixed(1)} s: \`subhost boot ${name}\` boots it`);
  }
  return 0;
}
