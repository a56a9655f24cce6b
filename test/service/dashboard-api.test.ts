import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { startFerry, type Background } from './process.js';

const TOKEN = 'dash-api-token-0123456789abcdef';

/** The dashboard's contract with the browser, over plain HTTP: sessions, CSRF, base path, headers, assets. */
describe('the dashboard API', () => {
  let ws: Workspace;
  let proxied: Background;
  let direct: Background;
  let open: Background;
  let openBase: string; // api.insecure_no_auth on loopback
  let base: string; // behind a proxy: api.base_path /ferry, api.trust_proxy
  let plain: string; // no base path, proxy headers not trusted, sessions of two seconds

  const signIn = async (url: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ token: TOKEN }) });
    expect(r.status).toBe(200);
    const cookie = r.headers.get('set-cookie')!;
    return { setCookie: cookie, cookie: cookie.split(';')[0]!, csrf: ((await r.json()) as { csrf: string }).csrf };
  };

  beforeAll(async () => {
    ws = await workspace();
    await mkdir(join(ws.dir, 'usbmnt'));
    const config = (api: Record<string, unknown>) => basicConfig({
      api: { token: '${FERRY_API_TOKEN}', allow_restore: true, restore_root: './restores', ...api },
      targets: { local: { type: 'local', path: './backups', keep: 7 }, usb: { type: 'usb', path: './usbmnt/b', mountpoint: './usbmnt', keep: 3, stale_after: '7h' } },
    });
    await ws.writeConfig(config({ session_ttl: '2s' }));
    expect((await ws.run(['run', '-d', 'first'], { FERRY_API_TOKEN: TOKEN })).code).toBe(3);
    await ws.writeConfig(config({ base_path: '/ferry', trust_proxy: true }));
    proxied = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir, { FERRY_API_TOKEN: TOKEN });
    base = `http://${(await proxied.waitFor(/"listening": "([^"]+)"/))[1]}/ferry`;
    await ws.writeConfig(config({ session_ttl: '2s' }));
    direct = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir, { FERRY_API_TOKEN: TOKEN });
    plain = `http://${(await direct.waitFor(/"listening": "([^"]+)"/))[1]}`;
    await writeFile(join(ws.dir, 'open.config.yaml'), stringify(basicConfig({ api: { insecure_no_auth: true } })));
    open = startFerry(['serve', '-c', 'open.config.yaml', '--listen', '127.0.0.1:0', '--json'], ws.dir);
    openBase = `http://${(await open.waitFor(/"listening": "([^"]+)"/))[1]}`;
  });
  afterAll(async () => {
    await proxied?.stop();
    await direct?.stop();
    await open?.stop();
    await ws?.cleanup();
  });

  it('signing in with the API token sets an HttpOnly, SameSite=Strict session cookie for the base path; the token is not echoed', async () => {
    const r = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
    expect(r.status).toBe(200);
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^ferry_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\/ferry\//);
    expect(cookie).toMatch(/; Max-Age=43200/);
    expect(cookie).not.toMatch(/Secure/);
    const text = await r.text();
    expect(text).not.toContain(TOKEN);
    expect(JSON.parse(text)).toMatchObject({ csrf: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/), expires: expect.any(String) });
  });

  it('a wrong token gets 401 and no cookie', async () => {
    const r = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: `${TOKEN}x` }) });
    expect(r.status).toBe(401);
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('the cookie is Secure when a trusted proxy says https, and X-Forwarded-Proto is ignored unless api.trust_proxy is set', async () => {
    expect((await signIn(base, { 'X-Forwarded-Proto': 'https' })).setCookie).toMatch(/; Secure/);
    expect((await signIn(plain, { 'X-Forwarded-Proto': 'https' })).setCookie).not.toMatch(/Secure/);
  });

  it('without a session, data requests get 401 and pages redirect to sign-in; with one, both are served', async () => {
    const s = await signIn(base);
    expect((await fetch(`${base}/api/status`)).status).toBe(401);
    const page = await fetch(`${base}/`, { headers: { Accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/ferry/sign-in');
    expect((await fetch(`${base}/sign-in`)).status).toBe(200);
    expect((await fetch(`${base}/api/status`, { headers: { Cookie: s.cookie } })).status).toBe(200);
    expect((await fetch(`${base}/`, { headers: { Cookie: s.cookie, Accept: 'text/html' } })).status).toBe(200);
    expect((await fetch(`${base}/api/status`, { headers: { Cookie: 'ferry_session=forged-session-id' } })).status).toBe(401);
  });

  it('a state-changing request with a session needs the CSRF token and the page\'s own origin; otherwise 403', async () => {
    const s = await signIn(base);
    const host = new URL(base).host;
    const post = (headers: Record<string, string>) => fetch(`${base}/api/prune`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: s.cookie, ...headers }, body: JSON.stringify({ dry_run: true }),
    });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'X-CSRF-Token': `${s.csrf}x` })).status).toBe(403);
    expect((await post({ 'X-CSRF-Token': s.csrf, Origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ 'X-CSRF-Token': s.csrf, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    const ok = await post({ 'X-CSRF-Token': s.csrf, Origin: `http://${host}`, 'Sec-Fetch-Site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect((await ok.json()).dry_run).toBe(true);
  });

  it('scripts keep using the bearer token, with no CSRF token', async () => {
    const r = await fetch(`${base}/api/prune`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ dry_run: true }) });
    expect(r.status).toBe(200);
    const wrong = await fetch(`${base}/api/status`, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('signing out ends the session on the server and clears the cookie', async () => {
    const s = await signIn(base);
    const out = await fetch(`${base}/api/session`, { method: 'DELETE', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^ferry_session=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/);
    expect((await fetch(`${base}/api/status`, { headers: { Cookie: s.cookie } })).status).toBe(401);
  });

  it('a session expires after api.session_ttl', async () => {
    const s = await signIn(plain);
    expect(s.setCookie).toMatch(/; Max-Age=2/);
    await waitFor(async () => (await fetch(`${plain}/api/status`, { headers: { Cookie: s.cookie } })).status === 401, { what: 'the two-second session to expire', timeout: 20_000 });
  });

  it('every URL lies under api.base_path, and answers name URLs with it', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const root = base.replace(/\/ferry$/, '');
    expect((await fetch(`${root}/api/status`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { headers: auth })).status).toBe(200);
    const bare = await fetch(base, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/ferry/');
    const run = await fetch(`${base}/api/runs`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ targets: ['local'] }) });
    expect(run.status).toBe(202);
    const { id, url } = await run.json() as { id: string; url: string };
    expect(url).toBe(`/ferry/api/runs/${id}`);
    expect(run.headers.get('location')).toBe(url);
    await waitFor(async () => ((await (await fetch(`${root}${url}`, { headers: auth })).json()) as { state: string }).state === 'finished', { what: 'the API run to finish' });
  });

  it('the page has a strict CSP and no secret; its assets have hashed names, a year of cache and gzip', async () => {
    const s = await signIn(base);
    const page = await fetch(`${base}/`, { headers: { Cookie: s.cookie } });
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe|https?:/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).not.toContain(TOKEN);
    expect(html).not.toContain(s.csrf);
    const assets = [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(3);
    for (const a of assets) {
      expect(a).toMatch(/^assets\/(app|icon)-[0-9a-f]{12}\.(js|css|svg)$/);
      const r = await fetch(`${base}/${a}`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(r.status, a).toBe(200);
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(r.headers.get('content-encoding')).toBe('gzip');
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    expect((await fetch(`${base}/assets/app-000000000000.js`)).status).toBe(404);
    expect((await fetch(`${base}/assets/..%2f..%2fbackup.config.yaml`)).status).toBe(404);
  });

  it('status, targets and session give what the overview shows: last push and last success per target, stale_after, the restore root', async () => {
    const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
    const status = await (await fetch(`${base}/api/status`, auth)).json();
    const usb = status.targets.find((t: { target: string }) => t.target === 'usb');
    const local = status.targets.find((t: { target: string }) => t.target === 'local');
    expect(usb).toMatchObject({ last: { status: 'failure', error_code: 'NOT_MOUNTED' }, last_success: null });
    expect(local.last_success).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    const targets = (await (await fetch(`${base}/api/targets`, auth)).json()).targets;
    expect(targets).toEqual([
      expect.objectContaining({ name: 'local', stale_after: 26 * 3600 }),
      expect.objectContaining({ name: 'usb', stale_after: 7 * 3600 }),
    ]);
    const archives = (await (await fetch(`${base}/api/archives?target=local`, auth)).json()).targets[0].archives;
    expect(archives[0]).toMatchObject({ description: 'first' });
    const session = await (await fetch(`${base}/api/session`, auth)).json();
    expect(session).toMatchObject({ auth: 'bearer', csrf: null, restore: { allowed: true, root: join(ws.dir, 'restores') } });
  });

  it('without authentication (insecure_no_auth) a state-changing request from another site is still refused', async () => {
    const post = (headers: Record<string, string>) => fetch(`${openBase}/api/prune`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ dry_run: true }) });
    expect((await post({ Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await post({})).status).toBe(200);
  });

  it('ferry status --json and GET /api/status agree on each target\'s last success', async () => {
    const cli = await ws.run(['status', '--json'], { FERRY_API_TOKEN: TOKEN });
    expect(cli.code).toBe(0);
    const api = await (await fetch(`${base}/api/status`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    const pick = (targets: { target: string; last_success: string | null }[]) => Object.fromEntries(targets.map((t) => [t.target, t.last_success]));
    expect(pick(JSON.parse(cli.stdout).targets)).toEqual(pick(api.targets));
    expect(pick(api.targets).usb).toBeNull();
  });

  it('after ten wrong tokens a client is refused for a minute, even with the right token; others are not', async () => {
    const attempt = (token: string, client: string) => fetch(`${base}/api/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': client }, body: JSON.stringify({ token }),
    });
    for (let i = 0; i < 10; i++) expect((await attempt('guess', '203.0.113.9')).status).toBe(401);
    const blocked = await attempt(TOKEN, '203.0.113.9');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('set-cookie')).toBeNull();
    expect((await attempt(TOKEN, '203.0.113.10')).status).toBe(200);
  });
});
