import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createDiskSubhost } from '../helpers/fixtures';
import { enterSh, statusOf } from '../helpers/subhost';

// Issue 12, class 4: a guest's reboot boots what the first boot booted; a reboot loop backs off and stops.
describe('guest reboot', () => {
  const root = makeTestRoot();
  const names: string[] = [];
  afterAll(() => {
    for (const n of names) cli(['stop', n], { root });
    removeTestRoot(root);
  });

  it('boots again from the --config file and the environment of the first boot', async () => {
    const s = await createDiskSubhost(root, testName('r'), { dataDisk: false });
    names.push(s.name);
    const file = join(root, `${s.name}.conf`);
    writeFileSync(file, readFileSync(join(s.dir, 'config'), 'utf8') + 'HOSTNAME=recorded-host\n');
    writeFileSync(join(s.dir, 'config'), '# the real config is elsewhere\n');
    ok(['boot', s.name, '--config', file], { root, env: { MEMORY: '256M' } });
    await waitFor('rc 2', () => enterSh(root, s.name, 'cat /run/rc.ran').stdout.trim() === '2');
    const first = statusOf(root, s.name).pid1;
    enterSh(root, s.name, 'reboot');
    await waitFor('the reboot', () => {
      const st = statusOf(root, s.name);
      return st.state === 'running' && !st.busy && st.pid1 !== first && enterSh(root, s.name, 'cat /run/rc.ran').stdout.trim() === '2';
    }, 30_000, 200);
    expect(enterSh(root, s.name, 'hostname').stdout).toBe('recorded-host\n');
    // The memory limit came from the environment of the first boot.
    expect(JSON.stringify(statusOf(root, s.name).limits)).toContain(`"value":"${256 << 20}"`);
    ok(['stop', s.name], { root });
  });

  it('backs off a reboot loop, says so in status and the log, and then stops booting it', async () => {
    const s = await createDiskSubhost(root, testName('r'), {
      dataDisk: false,
      files: { 'etc/init.d/rcS': { mode: 0o755, content: '#!/bin/sh\necho "rcS: rebooting at once"\nkill -TERM 1\n' } },
    });
    names.push(s.name);
    ok(['boot', s.name], { root });
    await waitFor('the back-off in status', () => /reboot loop: \d+ quick reboots in a row; booting again at/.test(statusOf(root, s.name).reason ?? ''), 60_000, 100);
    await waitFor('the end of the loop', () => /not booting it again/.test(statusOf(root, s.name).reason ?? ''), 90_000, 500);
    expect(statusOf(root, s.name)).toMatchObject({ state: 'stopped', reason: expect.stringMatching(/^reboot loop: 4 reboots in a row, each within 10 s of its boot; not booting it again/) });
    const log = ok(['logs', s.name], { root }).stdout;
    expect(log).toMatch(/reboot loop: 3 quick reboots in a row; booting again in 4 s/);
    expect(log).toMatch(/not booting it again/);
  });
});
