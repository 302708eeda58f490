import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/host/exec';
import { BIN } from '../helpers/cli';

const UNIT = join(__dirname, '../../share/systemd/subhost-autostart.service');

describe('share/systemd/subhost-autostart.service', () => {
  const dir = mkdtempSync('/tmp/subhost-unit-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // verify insists that ExecStart exists: point it at this checkout's bin/subhost, change nothing else.
  const verify = async (text: string) => {
    const file = join(dir, 'subhost-autostart.service');
    writeFileSync(file, text.replaceAll('/usr/local/bin/subhost', BIN));
    return run(['systemd-analyze', 'verify', file], { allowFailure: true });
  };

  it('is accepted by systemd-analyze verify, without a warning', async () => {
    const text = readFileSync(UNIT, 'utf8');
    const r = await verify(text);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(text).toMatch(/^After=.*network-online\.target.*local-fs\.target/m);
    expect(text).toMatch(/^ExecStart=\/usr\/local\/bin\/subhost autostart --parallel \d+$/m);
    expect(text).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it('a broken unit is not accepted silently (the check can fail)', async () => {
    const r = await verify(readFileSync(UNIT, 'utf8').replace('Type=oneshot', 'Type=oneshot\nKillMode=none\nBogus=1'));
    expect(r.stderr).toMatch(/Bogus|KillMode=none/);
  });
});
