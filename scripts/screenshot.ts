/**
 * `npm run screenshot`: the README's picture of the dashboard (docs/dashboard.png), from a real run:
 * three busybox subhosts (shshot*) booted, a daemon sampling every 2 s, some CPU, memory and IO
 * made inside them for three minutes, and Debian's chromium taking the picture. It removes all
 * it made (names shshot*, folder /var/tmp/shshot) at the end.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildBusyboxRoot, DEFAULT_GUEST_FILES } from '../test/fixtures/image/busybox-root';
import { makeDiskImage } from '../test/fixtures/image/disk-image';
import { BIN, cli, ok } from '../test/helpers/cli';
import { startDaemon } from '../test/helpers/daemon';
import { CHROMIUM_FLAGS } from '../test/helpers/browser';
import { sleep } from '../test/helpers/env';

const ROOT = '/var/tmp/shshot';
const RUN = join(ROOT, 'run');
const OUT = join(__dirname, '../docs/dashboard.png');
const NAMES = ['shshot-web', 'shshot-db', 'shshot-batch'];
const env = { SUBHOST_ROOT: ROOT, SUBHOST_RUN: RUN, SUBHOST_DAEMON_VM_PREFIX: 'shshot' };
const MINUTES = Number(process.env.SCREENSHOT_MINUTES ?? 3);

async function makeSubhosts(): Promise<void> {
  const tree = mkdtempSync('/tmp/shshot-root-');
  try {
    await buildBusyboxRoot(tree, DEFAULT_GUEST_FILES);
    for (const [i, n] of NAMES.entries()) {
      mkdirSync(join(ROOT, n), { recursive: true });
      await makeDiskImage(join(ROOT, n, 'disk1.raw'), { sizeMiB: 96, from: tree });
      writeFileSync(join(ROOT, n, 'config'), `DISKS=( vda:1:disk1.raw )\nCPUS=${[0.6, 0.3, 1][i]}\nMEMORY=256M\n`);
    }
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

/** Work inside a subhost, in the background of its own shell (ends with the subhost). */
function work(name: string, script: string): void {
  ok(['enter', name, '--', 'sh', '-c', `(${script}) >/dev/null 2>&1 </dev/null &`], { root: ROOT, env });
}

function cleanUp(): void {
  for (const n of NAMES) cli(['stop', n], { root: ROOT, env });
  rmSync(ROOT, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: subhost manages namespaces, mounts and cgroups');
  cleanUp();
  mkdirSync(RUN, { recursive: true });
  await makeSubhosts();
  for (const n of NAMES) ok(['boot', n], { root: ROOT, env });
  const daemon = await startDaemon({ root: ROOT, run: RUN, db: join(ROOT, 'history.sqlite'), interval: 2, args: ['--hostname', 'node1'], env });
  try {
    const { listen } = daemon;
    // A web server's bursts, a database's cache and writes, a batch job that starts late.
    work(NAMES[0], 'while :; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 3; done');
    work(NAMES[1], 'mkdir -p /dev/shm/c; n=0; while [ $n -lt 40 ]; do dd if=/dev/zero of=/dev/shm/c/$n bs=1M count=2; dd if=/dev/zero of=/root/wal bs=64k count=64 conv=fsync; n=$((n+1)); sleep 4; done; while :; do sleep 60; done');
    await sleep((MINUTES * 60_000) / 2);
    work(NAMES[2], 'while :; do :; done');
    await sleep((MINUTES * 60_000) / 2);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
      await page.goto(`http://${listen}/`);
      for (const n of NAMES) await page.waitForSelector(`[data-series="subhost/${n}"][data-points]`, { timeout: 30_000 });
      await sleep(2500); // a second list refresh: live rates
      await page.screenshot({ path: OUT, fullPage: true });
      process.stdout.write(`screenshot: ${OUT}\n`);
    } finally {
      await browser.close();
    }
    spawnSync(process.execPath, [BIN, 'report', '--db', join(ROOT, 'history.sqlite'), '--since', `${MINUTES + 1}m`, '--by', 'hour'], { stdio: 'inherit', env: { ...process.env, ...env } });
  } finally {
    await daemon.stop();
    cleanUp();
  }
}

main().catch((err) => {
  process.stderr.write(`screenshot: ${err instanceof Error ? err.message : err}\n`);
  cleanUp();
  process.exit(1);
});
