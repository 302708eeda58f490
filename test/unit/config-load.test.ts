import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
});
