import { closeInheritedFds } from '../../host/inherited-fds';

/**
 * Before a command runs: close what the caller left open. Every command but `enter` may start
 * long-lived processes (the supervisor, PID 1) that must not hold them; `enter` passes the
 * caller's descriptors to the command inside, as nsenter does.
 */
export function dropInheritedDescriptors(command: string | undefined): void {
  if (command !== 'enter') closeInheritedFds();
}
