import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from './cli.js';

/** Debian's Chromium, installed by test/run.sh; Playwright downloads no browser. */
export const CHROMIUM = process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';

/** Starts the system Chromium headless. Throws (the test fails, never skips) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the chromium package (test/run.sh does)`);
  // As root Chromium refuses its sandbox; the pages under test are our own.
  return chromium.launch({ executablePath: CHROMIUM, chromiumSandbox: process.getuid?.() !== 0, args: ['--disable-gpu', '--disable-dev-shm-usage'] });
}

/** Where tests write what a person looks at afterwards (screenshots): `FERRY_TEST_OUTPUT`, default `test-output/` in the checkout. */
export async function testOutputDir(name: string): Promise<string> {
  const dir = join(process.env.FERRY_TEST_OUTPUT ?? join(ROOT, 'test-output'), name);
  await mkdir(dir, { recursive: true });
  return dir;
}
