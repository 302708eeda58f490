import { closeInheritedFds } from '../host/inherited-fds';
import { commandName } from './argv';
import { buildProgram, run, warmCommands } from './main';

/** For the build's code cache (scripts/code-cache.cjs): compile the program and every command module, run nothing. */
export async function warm(): Promise<void> {
  buildProgram();
  await warmCommands();
}

if (process.env.SUBHOST_WARM_ONLY !== '1') {
  // `enter` passes the caller's descriptors to the command inside, as nsenter does; every other
  // command may start long-lived processes (the supervisor, PID 1) that must not hold them.
  if (commandName(process.argv.slice(2)) !== 'enter') closeInheritedFds();
  run();
}
