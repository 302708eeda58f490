import { asSubhostError, type SubhostError } from '../errors';
import { writeFd } from './std-streams';

/**
 * Run fn for every name, `concurrency` at a time (a batch: `subhost boot a b c`). Every name
 * gets its outcome; one failure does not stop the others. Resolves with the failures.
 */
export async function forEachName(names: string[], concurrency: number, fn: (name: string) => Promise<void>): Promise<{ name: string; error: SubhostError }[]> {
  const failures: { name: string; error: SubhostError }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      try {
        await fn(name);
      } catch (err) {
        failures.push({ name, error: asSubhostError(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return failures;
}

/** One name: rethrow as is (one line, exit code of the error). Several: one line per failure. */
export function finish(names: string[], failures: { name: string; error: SubhostError }[]): number {
  if (names.length === 1 && failures.length) throw failures[0].error;
  for (const f of failures) writeFd(2, `subhost: ${f.name}: ${f.error.message}\n`);
  return failures.length ? 1 : 0;
}
