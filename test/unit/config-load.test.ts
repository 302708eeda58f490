import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envConfig, loadRawConfig, readConfigFile } from '../../src/core/config/load';

// These run bash for real (the config is bash), but touch nothing else.
describe('reading the config with bash', () => {
  const dir = mkdtempSync('/tmp/subhost-unit-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('evaluates the file in a clean environment and reads the variables back', async () => {
    process.env.SUBHOST_LEAK_CHECK = 'leaked';
    const p = file('c1', 'A=vda\nDISKS=( "$A:1:/x y.raw" vdb:1:/z )\nBRIDGES=br0\nCPUS=$(( 3 ))\nMEMORY="${SUBHOST_LEAK_CHECK:-clean}"\n');
    expect(await readConfigFile(p, 'web1')).toEqual({ DISKS: ['vda:1:/x y.raw', 'vdb:1:/z'], BRIDGES: ['br0'], CPUS: '3', MEMORY: 'clean' });
    delete process.env.SUBHOST_LEAK_CHECK;
  });

  it("does not take bash's own HOSTNAME for the config's", async () => {
    expect(await readConfigFile(file('c2', 'DISKS=()\n'), 'web1')).toEqual({ DISKS: [] });
  });

  it('gives the config its NAME as SUBHOST_NAME', async () => {
    expect(await readConfigFile(file('c3', 'HOSTNAME=$SUBHOST_NAME.example.org\n'), 'web1')).toEqual({ HOSTNAME: 'web1.example.org' });
  });

  it('reports the first line bash complained with', async () => {
    await expect(readConfigFile(file('c4', 'DISKS=()\nfalse\n'), 'x')).rejects.toThrow(/fails in bash: bash exited with status 1/);
    await expect(readConfigFile(file('c5', 'nope-cmd\n'), 'x')).rejects.toThrow(/fails in bash: .*line 1: nope-cmd: command not found/);
    await expect(readConfigFile(file('c6', 'declare -A DISKS=([a]=b)\n'), 'x')).rejects.toThrow(/DISKS is an associative array/);
  });

  it('takes variables from the environment, arrays split on spaces, and lets the file win', async () => {
    expect(envConfig({ DISKS: 'vda:1:/a  vdb:1:/b', CPUS: '2', HOSTNAME: 'the-host', OTHER: 'x' })).toEqual({ DISKS: ['vda:1:/a', 'vdb:1:/b'], CPUS: '2' });
    const p = file('c7', 'CPUS=4\n');
    const r = await loadRawConfig({ file: p, explicit: true, name: 'x', env: { CPUS: '2', PIDS: '9' } });
    expect(r.vars).toEqual({ CPUS: '4', PIDS: '9' });
    expect(r.fromEnv).toEqual(['PIDS']);
    const none = await loadRawConfig({ file: join(dir, 'missing'), explicit: false, name: 'x', env: { DISKS: 'vda:1:/a' } });
    expect(none).toEqual({ vars: { DISKS: ['vda:1:/a'] }, file: undefined, fromEnv: ['DISKS'] });
  });

  // Issue 13, class 6: hostile configs. The deadline is shortened here; the CLI's is 10 s.
  describe('bounded: its own process group, killed as a whole, the variables on a channel of their own', () => {
    const survivors = (marker: string) =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
          } catch {
            return false;
          }
        });

    it('ends a config that never finishes (sleep infinity, yes) at the deadline, naming it', async () => {
      const hang = file('h1', 'DISKS=()\nsleep infinity\n');
      await expect(readConfigFile(hang, 'x', { timeoutMs: 1000 })).rejects.toThrow(new RegExp(`^config ${hang}: did not finish within 1 s`));
      const yes = file('h2', 'yes\n');
      const rss = process.memoryUsage().rss;
      await expect(readConfigFile(yes, 'x', { timeoutMs: 1000 })).rejects.toThrow(/did not finish within 1 s/);
      expect(process.memoryUsage().rss - rss).toBeLessThan(64 << 20);
    }, 20_000);

    it('leaves nothing of it running: a backgrounded child is killed with it', async () => {
      const marker = `98${process.pid}`;
      const p = file('h3', `sleep ${marker} >/dev/null 2>&1 </dev/null &\nCPUS=2\n`);
      expect(await readConfigFile(p, 'x', { timeoutMs: 5000 })).toEqual({ CPUS: '2' });
      expect(survivors(`sleep\0${marker}`)).toEqual([]);
    }, 20_000);

    it('refuses a config that ends early with exit or exec, instead of reading no variables', async () => {
      for (const [n, last] of [['h4', 'exit 0'], ['h5', 'exec true']]) {
        const p = file(n, `DISKS=( vda:1:/a )\nCPUS=2\n${last}\n`);
        await expect(readConfigFile(p, 'x', { timeoutMs: 5000 })).rejects.toThrow(new RegExp(`^config ${p}: ended before its last line \\(an exit or exec in it\\?\\)`));
      }
    }, 20_000);

    it('lets a config print what it likes, however much, and reads only its variables', async () => {
      const p = file('h6', `echo hello\necho 'declare -- CPUS="9"'\nhead -c 50000000 /dev/zero | tr '\\0' y\necho to stderr >&2\nCPUS=2\n`);
      expect(await readConfigFile(p, 'x', { timeoutMs: 10_000 })).toEqual({ CPUS: '2' });
    }, 30_000);

    it('refuses variables larger than the bound', async () => {
      const p = file('h7', 'DISKS=( $(head -c 2000000 /dev/zero | tr "\\0" a | fold -w 100) )\n');
      await expect(readConfigFile(p, 'x', { timeoutMs: 10_000 })).rejects.toThrow(/its variables exceed 1 MiB/);
    }, 30_000);
  });
});
