import { closeInheritedFds } from '../host/inherited-fds';
import { buildProgram, run, warmCommands } from './main';

/** For the build's code cache (scripts/code-cache.cjs): compile the program and every command module, run nothing. */
export async function warm(): Promise<void> {
  buildProgram();
  await warmCommands();
}

if (process.env.SUBHOST_WARM_ONLY !== '1') {
  // Nothing the caller left open may reach a supervisor, a PID 1 or a command inside (`enter`).
  closeInheritedFds();
  run();
}
