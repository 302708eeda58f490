import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** sysvinit's struct init_request (initreq.h): 384 bytes, magic 0x03091969. */
const INIT_MAGIC = 0x03091969;
const CMD = { RUNLVL: 1, SETENV: 6 } as const;
function initRequest(cmd: number, runlevel: string | number, data = '', sleeptime = 5): Buffer {
  const b = Buffer.alloc(384);
  b.writeInt32LE(INIT_MAGIC, 0);
  b.writeInt32LE(cmd, 4);
  b.writeInt32LE(typeof runlevel === 'string' ? runlevel.charCodeAt(0) : runlevel, 8);
  b.writeInt32LE(sleeptime, 12);
  b.write(data, 16, 'latin1');
  return b;
}

/** The function of subhost-init that decides what a write to /run/initctl asks for. */
const init = readFileSync(join(__dirname, '../../share/subhost-init'), 'utf8');
const action = /^initctl_action\(\) \{[\s\S]*?^\}$/m.exec(init)?.[0];
if (!action) throw new Error('subhost-init has no initctl_action()');

/** Run the function under dash on what tr -d '\000' makes of the bytes, as PID 1 does. */
function actionFor(bytes: Buffer): string {
  const script = `${action}\ninitctl_action "$(tr -d '\\000')"`;
  const r = spawnSync('dash', ['-c', script], { input: bytes, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

describe("subhost-init's reading of /run/initctl", () => {
  it('reboots on a change to runlevel 6 (sysvinit reboot, telinit 6)', () => {
    expect(actionFor(initRequest(CMD.RUNLVL, '6'))).toBe('reboot');
    expect(actionFor(initRequest(CMD.RUNLVL, '6', '', 10))).toBe('reboot');
  });

  it('powers off on a change to runlevel 0, 1 or S', () => {
    for (const rl of ['0', '1', 's', 'S']) expect(actionFor(initRequest(CMD.RUNLVL, rl))).toBe('poweroff');
  });

  it("ignores shutdown's INIT_HALT setting, telinit q and u, and runlevels 2-5", () => {
    expect(actionFor(initRequest(CMD.SETENV, 0, 'INIT_HALT=POWEROFF'))).toBe('');
    expect(actionFor(initRequest(CMD.SETENV, 0, 'INIT_HALT'))).toBe('');
    for (const rl of ['q', 'Q', 'u', 'U', '2', '3', '4', '5']) expect(actionFor(initRequest(CMD.RUNLVL, rl))).toBe('');
  });

  it('reads several requests that arrive in one go (shutdown -r: SETENV, then runlevel 6)', () => {
    expect(actionFor(Buffer.concat([initRequest(CMD.SETENV, 0, 'INIT_HALT'), initRequest(CMD.RUNLVL, '6')]))).toBe('reboot');
    expect(actionFor(Buffer.concat([initRequest(CMD.SETENV, 0, 'INIT_HALT=POWEROFF'), initRequest(CMD.RUNLVL, '0')]))).toBe('poweroff');
  });

  it('powers off on anything else, and reboots on a line starting with "reboot"', () => {
    expect(actionFor(Buffer.from('poweroff\n'))).toBe('poweroff');
    expect(actionFor(Buffer.from('halt'))).toBe('poweroff');
    expect(actionFor(Buffer.from(''))).toBe('poweroff');
    expect(actionFor(Buffer.from('reboot\n'))).toBe('reboot');
  });
});
