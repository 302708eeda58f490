import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where tests keep what a person may want to look at afterwards (screenshots). */
export const ARTIFACTS = join(__dirname, '../../test-artifacts');

/** Debian's chromium, headless, with nothing of its own on the network (no updates, sync, QUIC). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to make anywhere but loopback (each one aborted). */
  outside: string[];
  close(): Promise<void>;
}

/**
 * A new profile in dir (a test root: it is in the browser's environment too, so the leak check
 * finds a browser left running). Every request that is not to 127.0.0.1 is aborted and recorded.
 */
export async function openBrowser(dir: string, viewport = { width: 1280, height: 800 }): Promise<TestBrowser> {
  const profile = join(dir, 'chromium-profile');
  mkdirSync(profile, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LC_ALL: 'C', SUBHOST_ROOT: dir },
  });
  const outside: string[] = [];
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1') return route.continue();
    outside.push(u.href);
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page, outside, close: () => context.close() };
}
