import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

interface Received { method: string; url: string; headers: IncomingHttpHeaders; body: string }

/** A local HTTP receiver standing in for ntfy, a webhook endpoint and healthchecks. */
async function receiver(): Promise<{ server: Server; base: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('notifications', () => {
  let ws: Workspace;
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => { rx = await receiver(); });
  afterAll(async () => { await new Promise((r) => rx.server.close(r)); });
  beforeEach(async () => { ws = await workspace(); rx.got.length = 0; });
  afterEach(async () => { await ws.cleanup(); });

  it('a failing run (unmounted usb target) notifies ntfy and a signed webhook with the per-target results', async () => {
    await mkdir(join(ws.dir, 'usbmnt'));
    await ws.writeConfig(basicConfig({
      targets: { usb: { type: 'usb', path: './usbmnt/backups', mountpoint: './usbmnt', keep: 3 } },
      notify: [
        { type: 'ntfy', server: rx.base, topic: 'backups', token: '${NTFY_TOKEN}' },
        { type: 'webhook', url: `${rx.base}/hook?k=1`, hmac_secret_file: './hmac.secret' },
        { type: 'command', command: 'cat > notified.json' },
      ],
    }));
    await import('node:fs/promises').then((fs) => fs.writeFile(join(ws.dir, 'hmac.secret'), 'shared-hmac-secret\n'));
    const r = await ws.run(['run'], { NTFY_TOKEN: 'tk_ntfy_secret' });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/tk_ntfy_secret|shared-hmac-secret/);

    const ntfy = rx.got.find((g) => g.url === '/backups')!;
    expect(ntfy.method).toBe('POST');
    expect(ntfy.headers.authorization).toBe('Bearer tk_ntfy_secret');
    expect(ntfy.headers.title).toBe('ferry app: backup failure');
    expect(ntfy.headers.priority).toBe('4');
    expect(ntfy.body).toMatch(/^usb: failure \[NOT_MOUNTED\]/m);

    const hook = rx.got.find((g) => g.url === '/hook?k=1')!;
    const expected = `sha256=${createHmac('sha256', 'shared-hmac-secret').update(hook.body).digest('hex')}`;
    expect(hook.headers['x-ferry-signature']).toBe(expected);
    expect(hook.headers['content-type']).toBe('application/json');
    const payload = JSON.parse(hook.body);
    expect(payload).toMatchObject({ format_version: 1, kind: 'run', job: 'app', status: 'failure', exit_code: 1 });
    expect(payload.archive).toMatch(/^app-\d{8}T\d{6}Z\.tar\.gz$/);
    expect(payload.targets).toEqual([expect.objectContaining({ target: 'usb', status: 'failure', error_code: 'NOT_MOUNTED', error: expect.any(String) })]);
    expect(typeof payload.targets[0].duration_ms).toBe('number');
    expect(payload.duration_ms).toBeGreaterThanOrEqual(0);

    const stdin = JSON.parse(await readFile(join(ws.dir, 'notified.json'), 'utf8'));
    expect(stdin).toEqual(payload);
  });

  it('a run stored on one target but not another notifies partial, exit 3, with the failed target in attention', async () => {
    await mkdir(join(ws.dir, 'usbmnt'));
    await ws.writeConfig(basicConfig({
      targets: {
        local: { type: 'local', path: './backups', keep: 3 },
        usb: { type: 'usb', path: './usbmnt/backups', mountpoint: './usbmnt', keep: 3 },
      },
      notify: [{ type: 'command', command: 'cat > notified.json' }],
    }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(3);
    const payload = JSON.parse(await readFile(join(ws.dir, 'notified.json'), 'utf8'));
    expect(payload).toMatchObject({ status: 'partial', exit_code: 3, attention: { failed_targets: ['usb'], failed_prunes: [], unreadable: [] } });
  });

  it('a successful run notifies nobody by default', async () => {
    await ws.writeConfig(basicConfig({ notify: [{ type: 'webhook', url: `${rx.base}/hook` }] }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(0);
    expect(rx.got).toEqual([]);
  });

  it('healthchecks gets the start ping from `ferry run` (as a systemd timer starts it), then a success ping, or /fail and the exit-code endpoint when the run fails', async () => {
    await ws.writeConfig(basicConfig({ notify: [{ type: 'healthchecks', url: `${rx.base}/ping/uuid-1` }] }));
    expect((await ws.run(['run'])).code).toBe(0);
    expect(rx.got.map((g) => g.url)).toEqual(['/ping/uuid-1/start', '/ping/uuid-1']);

    rx.got.length = 0;
    await mkdir(join(ws.dir, 'usbmnt'));
    await ws.writeConfig(basicConfig({
      targets: { usb: { type: 'usb', path: './usbmnt/b', mountpoint: './usbmnt', keep: 3 } },
      notify: [{ type: 'healthchecks', url: `${rx.base}/ping/uuid-1` }, { type: 'healthchecks', url: `${rx.base}/ping/uuid-2`, exit_code: true }],
    }));
    expect((await ws.run(['run'])).code).toBe(1);
    expect(rx.got.map((g) => g.url).sort()).toEqual(['/ping/uuid-1/fail', '/ping/uuid-1/start', '/ping/uuid-2/1', '/ping/uuid-2/start']);
  });

  it('a notifier on a dead port is logged and does not change the exit code', async () => {
    const port = await deadPort();
    await ws.writeConfig(basicConfig({ notify: [{ type: 'webhook', url: `http://127.0.0.1:${port}/secret-path`, on: ['success'], timeout: 5 }] }));
    const ok = await ws.run(['run']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/notify\[0\] \(webhook 127\.0\.0\.1:\d+\): notification failed/);
    expect(ok.stderr).not.toContain('secret-path');

    await mkdir(join(ws.dir, 'usbmnt'));
    await ws.writeConfig(basicConfig({
      targets: {
        local: { type: 'local', path: './backups', keep: 7 },
        usb: { type: 'usb', path: './usbmnt/b', mountpoint: './usbmnt', keep: 3 },
      },
      notify: [{ type: 'ntfy', server: `http://127.0.0.1:${port}`, topic: 't', timeout: 5 }],
    }));
    const partial = await ws.run(['run']);
    expect(partial.code).toBe(3);
    expect(partial.stderr).toMatch(/notification failed/);
  });

  it('an invalid cron expression is a config error naming the key and line', async () => {
    await ws.writeConfig(basicConfig({ schedule: '99 3 * * *', verify: { schedule: 'nightly' } }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/backup\.config\.yaml:\d+:\d+: schedule: invalid cron expression/);
    expect(r.stderr).toMatch(/verify\.schedule: invalid cron expression/);
  });

  it('an unknown notifier key is a config error with its dot-path', async () => {
    await ws.writeConfig(basicConfig({ notify: [{ type: 'webhook', url: `${rx.base}/hook`, secret: 'x' }] }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/notify\.0\.secret: unknown key/);
  });
});
