import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, testOutputDir } from '../helpers/browser.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { startFerry, type Background } from './process.js';

const TOKEN = 'dash-page-token-0123456789abcdef';

/** The dashboard in Debian's Chromium, driven by Playwright, against a real `ferry serve`. */
describe('the dashboard in a browser', { timeout: 120_000 }, () => {
  let ws: Workspace;
  let server: Background;
  let shortLived: Background;
  let evil: Server;
  let browser: Browser;
  let base: string;
  let shortBase: string;
  let evilBase: string;
  let shots: string;
  const contexts: BrowserContext[] = [];

  const api = async (path: string, init: RequestInit = {}) => fetch(base + path, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, ...init.headers } });
  const newPage = async (options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    contexts.push(context);
    return context.newPage();
  };
  const signIn = async (page: Page, at = base) => {
    await page.goto(`${at}/`);
    await page.waitForURL(/\/sign-in$/);
    await page.getByLabel('API token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${at}/`);
    await page.getByRole('heading', { name: 'Targets' }).waitFor();
  };

  beforeAll(async () => {
    ws = await workspace();
    await mkdir(join(ws.dir, 'usbmnt'));
    const config = (api: Record<string, unknown>) => basicConfig({
      hooks: { before: ['while [ -e hold ]; do sleep 0.05; done'] },
      api: { token: '${FERRY_API_TOKEN}', allow_restore: true, restore_root: './restores', ...api },
      targets: { local: { type: 'local', path: './backups', keep: 7 }, usb: { type: 'usb', path: './usbmnt/b', mountpoint: './usbmnt', keep: 3 } },
    });
    await ws.writeConfig(config({}));
    await writeFile(join(ws.dir, 'short.config.yaml'), stringify(config({ session_ttl: '5s' })));
    const env = { FERRY_API_TOKEN: TOKEN };
    expect((await ws.run(['run', '-d', 'first'], env)).code).toBe(3);
    expect((await ws.run(['run', '-t', 'local', '-d', 'second'], env)).code).toBe(0);
    server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir, env);
    shortLived = startFerry(['serve', '-c', 'short.config.yaml', '--listen', '127.0.0.1:0', '--json'], ws.dir, env);
    base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
    shortBase = `http://${(await shortLived.waitFor(/"listening": "([^"]+)"/))[1]}`;
    // Another site (localhost is not the same site as 127.0.0.1) whose page posts to Ferry on its own.
    evil = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form id="f" method="post" action="${base}/api/runs" enctype="text/plain"><input name='{"description":"forged","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilBase = `http://localhost:${(evil.address() as AddressInfo).port}`;
    browser = await launchChromium();
    shots = await testOutputDir('dashboard');
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await new Promise((r) => evil ? evil.close(r) : r(undefined));
    await server?.stop();
    await shortLived?.stop();
    await ws?.cleanup();
  });

  it('signs in with the token and shows the healthy and the failing target; the token is in no URL, page or storage', async () => {
    const page = await newPage();
    await signIn(page);
    const local = page.locator('[data-target="local"]');
    const usb = page.locator('[data-target="usb"]');
    await expect.poll(() => local.locator('.badge').textContent()).toBe('Healthy');
    expect(await usb.locator('.badge').textContent()).toBe('Failing');
    expect(await usb.locator('.reason').textContent()).toMatch(/NOT_MOUNTED.*nothing is mounted/);
    expect(await local.locator('dd').nth(3).textContent()).toBe('2');
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.content()).not.toContain(TOKEN);
    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'ferry_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookies[0]!.value).not.toContain(TOKEN);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.screenshot({ path: join(shots, 'overview-desktop.png'), fullPage: true });
  });

  it('Run now shows the run in progress and then its result', async () => {
    const page = await newPage();
    await signIn(page);
    await writeFile(join(ws.dir, 'hold'), '');
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByText(/^Running: read/).waitFor();
    await rm(join(ws.dir, 'hold'));
    await page.getByRole('heading', { name: 'Run finished' }).waitFor({ timeout: 60_000 });
    const outcome = await page.locator('.run-progress').textContent();
    expect(outcome).toMatch(/Stored, needs attention \(exit 3\): app-\d{8}T\d{6}Z\.tar\.gz/);
    expect(outcome).toMatch(/local: stored/);
    expect(outcome).toMatch(/usb: failed: .*NOT_MOUNTED/);
    await expect.poll(() => page.locator('[data-target="local"] dd').nth(3).textContent()).toBe('3');
    expect(await page.locator('.job .warnings').textContent()).toContain('The archive was not stored on usb.');
  });

  it('reaches a target page with the keyboard alone, and shows its archives, the size chart and the retention plan', async () => {
    const page = await newPage();
    await signIn(page);
    for (let i = 0; i < 20 && !(await page.evaluate(() => document.activeElement?.textContent === 'local')); i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('local');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Target local/ }).waitFor();
    const rows = page.locator('table.archives tbody tr');
    const n = await rows.count();
    expect(n).toBeGreaterThanOrEqual(2);
    expect(await rows.first().textContent()).toMatch(/^app-\d{8}T\d{6}Z\.tar\.gztar\.gz.*no.*first/);
    expect(await page.locator('svg.chart rect.bar').count()).toBe(n);
    expect(await page.locator('svg.chart path.total').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+$/);
    const plan = page.locator('table.plan tbody tr');
    expect(await plan.count()).toBe(n);
    for (const row of await plan.all()) expect(await row.locator('td').allTextContents()).toEqual(['keep', expect.stringMatching(/\w/)]);
    await page.screenshot({ path: join(shots, 'target-desktop.png'), fullPage: true });
  });

  it('Verify reads an archive back and says so', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/#/target/local`);
    const first = page.locator('table.archives tbody tr').first();
    const name = await first.getAttribute('data-archive');
    await first.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => page.locator('.action-panel').textContent(), { timeout: 60_000 }).toMatch(new RegExp(`^Verified ${name!.replace(/\./g, '\\.')} on local: \\d+ files`));
  });

  it('restores one source into restore_root after showing where and asking for confirmation', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/#/target/local`);
    await page.locator('table.archives tbody tr').first().getByRole('button', { name: 'Restore…' }).click();
    await page.getByLabel('What').selectOption('app');
    await page.getByLabel(/^Into/).fill('one');
    expect(await page.locator('.preview').textContent()).toBe(`Writes app from ${await page.locator('table.archives tbody tr').first().getAttribute('data-archive')} (on local) to ${join(ws.dir, 'restores')}/one/app.`);
    await page.getByRole('button', { name: 'Restore…' }).last().click();
    expect(existsSync(join(ws.dir, 'restores', 'one'))).toBe(false);
    await page.getByRole('button', { name: 'Yes, restore' }).click();
    await page.getByText(/^Restored into /).waitFor({ timeout: 60_000 });
    expect(await readdir(join(ws.dir, 'restores', 'one', 'app'))).toEqual(expect.arrayContaining(['config', 'logs', 'uploads']));
  });

  it('browses an archive from its index and restores a selection', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/#/target/local`);
    await page.locator('table.archives tbody tr').first().getByRole('button', { name: 'Browse' }).click();
    await page.getByRole('button', { name: 'app/' }).click();
    await page.getByRole('button', { name: 'config/' }).click();
    await expect.poll(() => page.locator('.browse .reason').textContent()).toMatch(/read from the index sidecar/);
    await page.getByLabel('select app/config/app.yaml').check();
    await page.getByLabel(/^Into/).fill('picked');
    await page.getByRole('button', { name: 'Restore selected…' }).click();
    await page.getByRole('button', { name: 'Yes, restore' }).click();
    await page.getByText(/^Restored into /).waitFor({ timeout: 60_000 });
    expect(await readdir(join(ws.dir, 'restores', 'picked', 'app'))).toEqual(['config']);
    expect(await readdir(join(ws.dir, 'restores', 'picked', 'app', 'config'))).toEqual(['app.yaml']);
  });

  it('shows numbers and dates in the browser\'s locale and time zone', async () => {
    const page = await newPage({ locale: 'de-DE', timezoneId: 'Pacific/Auckland' });
    await signIn(page);
    await page.goto(`${base}/#/target/local`);
    const listing = await (await api('/api/archives?target=local')).json() as { targets: { archives: { name: string; created: string; size: number }[] }[] };
    const a = listing.targets[0]!.archives[0]!;
    const created = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Pacific/Auckland' }).format(new Date(a.created));
    const size = new Intl.NumberFormat('de-DE', { style: 'unit', unit: 'kilobyte', unitDisplay: 'short', maximumFractionDigits: 1 }).format(a.size / 1000);
    const row = page.locator(`tr[data-archive="${a.name}"]`);
    expect(await row.locator('td').nth(2).textContent()).toBe(created);
    expect(await row.locator('td').nth(1).textContent()).toBe(size);
  });

  it('fits a phone-sized screen', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await signIn(page);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, 'overview-phone.png'), fullPage: true });
    await page.goto(`${base}/#/target/local`);
    await page.getByRole('heading', { name: /^Target local/ }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, 'target-phone.png'), fullPage: true });
  });

  it('loads the overview in under 300 KB and at most 10 requests, all to Ferry itself', async () => {
    const page = await newPage();
    await page.request.post(`${base}/api/session`, { data: { token: TOKEN } });
    const seen: { url: string; bytes: number }[] = [];
    page.on('requestfinished', (req) => void req.sizes().then((s) => seen.push({ url: req.url(), bytes: s.responseBodySize + s.responseHeadersSize })));
    page.on('requestfailed', (req) => seen.push({ url: req.url(), bytes: 0 }));
    await page.goto(`${base}/`);
    await page.locator('[data-target="usb"] .badge').waitFor();
    await page.waitForLoadState('networkidle');
    await waitFor(() => seen.length >= 7, { what: 'the page, its three assets and its API requests' });
    expect(seen.length).toBeLessThanOrEqual(10);
    expect(seen.every((s) => s.url.startsWith(`${base}/`))).toBe(true);
    expect(seen.reduce((sum, s) => sum + s.bytes, 0)).toBeLessThan(300 * 1024);
  });

  it('a wrong token is refused and no session is made', async () => {
    const page = await newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token is not right.').waitFor();
    expect(page.url()).toBe(`${base}/sign-in`);
    expect(await page.context().cookies()).toEqual([]);
  });

  it('signing out ends the session: the page and the old cookie are refused afterwards', async () => {
    const page = await newPage();
    await signIn(page);
    const [cookie] = await page.context().cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);
    expect(await page.context().cookies()).toEqual([]);
    await page.goto(`${base}/`);
    await page.waitForURL(/\/sign-in$/);
    expect((await fetch(`${base}/api/status`, { headers: { Cookie: `ferry_session=${cookie!.value}` } })).status).toBe(401);
  });

  it('an expired session goes back to sign-in', async () => {
    const page = await newPage();
    await signIn(page, shortBase);
    await waitFor(async () => {
      // The page itself moves to sign-in once the API refuses the session, which may interrupt this navigation.
      await page.goto(`${shortBase}/`).catch(() => undefined);
      return page.url().endsWith('/sign-in');
    }, { what: 'the five-second session to expire', timeout: 30_000 });
  });

  it('a forged cross-site POST from another site is refused and starts nothing', async () => {
    const page = await newPage();
    await signIn(page);
    const before = ((await (await api('/api/runs')).json()) as { runs: unknown[] }).runs.length;
    const refused = page.waitForResponse((r) => r.url() === `${base}/api/runs` && r.request().method() === 'POST');
    await page.goto(`${evilBase}/`);
    const response = await refused;
    expect(response.status()).toBe(403);
    expect(((await (await api('/api/runs')).json()) as { runs: unknown[] }).runs.length).toBe(before);
  });
});
