import { closeInheritedFds } from '../../host/inherited-fds';

/**
 * Before any command runs: close what the caller left open. Nothing may reach a supervisor, a
 * PID 1 or a command inside (`enter`): an inherited directory descriptor leads onto the host's
 * filesystem, an ssh session's pipe would be held for as long as the guest runs.
 */
export function dropInheritedDescriptors(): void {
  closeInheritedFds();
}
