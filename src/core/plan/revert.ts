import { asSubhostError, type SubhostError } from '../../errors';

/**
 * Undo actions, run last-first when a multi-step operation fails (incus' revert helper).
 * Teardown errors are collected, never allowed to hide the error that caused the revert.
 */
export class RevertStack {
  private undos: { label: string; fn: () => Promise<void> | void }[] = [];

  add(label: string, fn: () => Promise<void> | void): void {
    this.undos.push({ label, fn });
  }

  get size(): number {
    return this.undos.length;
  }

  /** The operation succeeded: keep what it made. */
  success(): void {
    this.undos = [];
  }

  async revert(): Promise<SubhostError[]> {
    const errors: SubhostError[] = [];
    while (this.undos.length) {
      const { label, fn } = this.undos.pop()!;
      try {
        await fn();
      } catch (err) {
        errors.push(asSubhostError(err).withContext(`undoing ${label}`));
      }
    }
    return errors;
  }
}
