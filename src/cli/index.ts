import { dropInheritedDescriptors } from '../core/lifecycle/descriptors';
import { buildProgram, run, warmCommands } from './main';

/** For the build's code cache (scripts/code-cache.cjs): compile the program and every command module, run nothing. */
export async function warm(): Promise<void> {
  buildProgram();
  await warmCommands();
}

if (process.env.SUBHOST_WARM_ONLY !== '1') {
  dropInheritedDescriptors();
  run();
}
