import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { statusLines, listTable } from '../../src/cli/format/format';
import type { SubhostInfo } from '../../src/core/inspect/info';
import { guestTerm } from '../../src/core/lifecycle/start';
import { catchesSignal } from '../../src/host/proc';
import { waitFor } from '../helpers/env';

describe('guestTerm', () => {
  it('passes a plain terminal name and refuses anything else', () => {
    expect(guestTerm('xterm-256color')).toBe('xterm-256color');
    expect(guestTerm(undefined)).toBe('dumb');
    expect(guestTerm('xterm x=1')).toBe('dumb');
    expect(guestTerm('$(reboot)')).toBe('dumb');
  });
});

describe('catchesSignal', () => {
  it('reads the handlers of a real process from /proc', async () => {
    const child = spawn('/bin/sh', ['-c', 'trap "exit 0" HUP; echo ready; while :; do sleep 1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      await waitFor('the trap', () => out.includes('ready'));
      expect(catchesSignal(child.pid!, 'SIGHUP')).toBe(true);
      expect(catchesSignal(child.pid!, 'SIGUSR2')).toBe(false);
      expect(catchesSignal(2 ** 22 + 1, 'SIGHUP')).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('layout in list and status', () => {
  const info: SubhostInfo = {
    name: 'web1',
    state: 'hibernated',
    kind: 'overlay',
    base: '/srv/base',
    writable: '/opt/sub/web1/mnt/root',
    imageFile: '/opt/sub/web1/web1.img',
    kept: [{ kind: 'mount', id: '/opt/sub/web1/live', detail: 'overlay subhost-web1' }, { kind: 'netns', id: 'web1' }],
    disks: [],
    interfaces: [],
    warnings: [],
  };
  it('status says where writes land, over which BASE, and what hibernation kept', () => {
    expect(statusLines(info)).toEqual([
      'web1: hibernated',
      '  kind        overlay',
      '  base        /srv/base',
      '  writable    /opt/sub/web1/mnt/root (in /opt/sub/web1/web1.img)',
      '  kept        mount /opt/sub/web1/live  (overlay subhost-web1)',
      '  kept        netns web1',
    ]);
  });
  it('list has a WRITABLE column', () => {
    expect(listTable([info])).toEqual(['NAME  STATE       KIND     WRITABLE                               PID1  UPTIME  DISKS  INTERFACES', 'web1  hibernated  overlay  /opt/sub/web1/mnt/root over /srv/base  -     -       -      -']);
  });
});
