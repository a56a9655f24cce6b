import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import gdrive from '../../adapters/gdrive/index.js';
import { describeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { streamBody } from '../../src/storage/body.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startDriveEmulator } from '../servers/drive-emulator/index.js';
import { poll, startFerry } from './process.js';

const listen = (srv: Server | ReturnType<typeof createNetServer>) =>
  new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port)));

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const srv = createNetServer();
  const port = await listen(srv);
  await new Promise((r) => srv.close(r));
  return port;
}

describe('credentials inside URLs are secrets', () => {
  let ws: Workspace;
  let receiver: Server;
  let seen: { url: string; authorization?: string }[];
  beforeEach(async () => {
    ws = await workspace();
    seen = [];
    // Accepts each notification, then answers 500 so that every sender also reports a failure.
    receiver = createServer((req: IncomingMessage, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => res.writeHead(500).end());
    });
  });
  afterEach(async () => {
    await new Promise((r) => receiver.close(r));
    await ws.cleanup();
  });

  it('user:pass@ in notifier URLs goes out as Basic auth and never appears in logs, state files or the API', async () => {
    const port = await listen(receiver);
    const dead = await deadPort();
    const token = 'api-token-0123456789abcdef';
    await ws.writeConfig(basicConfig({
      api: { token },
      notify: [
        { type: 'ntfy', server: `http://nuser:npass-SECRET@127.0.0.1:${port}`, topic: 'backups', on: ['success'] },
        { type: 'webhook', url: `http://wuser:wpass-SECRET@127.0.0.1:${port}/hook?key=wkey-SECRET`, on: ['success'] },
        { type: 'healthchecks', url: `http://huser:hpass-SECRET@127.0.0.1:${port}/ping/check` },
        { type: 'webhook', url: `http://duser:dpass-SECRET@127.0.0.1:${dead}/hook?key=dkey-SECRET`, on: ['success'] },
      ],
    }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/notification failed/);
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    expect(seen).toContainEqual({ url: '/backups', authorization: basic('nuser', 'npass-SECRET') });
    expect(seen).toContainEqual({ url: '/hook?key=wkey-SECRET', authorization: basic('wuser', 'wpass-SECRET') });
    expect(seen).toContainEqual({ url: '/ping/check', authorization: basic('huser', 'hpass-SECRET') });

    const server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir);
    const shown: string[] = [r.stdout, r.stderr];
    try {
      const base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
      const started = await (await fetch(`${base}/api/runs`, { method: 'POST', body: '{}', headers })).json() as { id: string };
      shown.push(JSON.stringify(await poll(async () => {
        const rec = await (await fetch(`${base}/api/runs/${started.id}`, { headers })).json() as { state: string };
        return rec.state === 'finished' ? rec : undefined;
      })));
      for (const path of ['/api/status', '/api/runs', '/metrics']) shown.push(await (await fetch(base + path, { headers })).text());
      await server.waitFor(/notification failed[\s\S]*notification failed/);
    } finally {
      await server.stop();
    }
    shown.push(server.stdout(), server.stderr());
    shown.push(await readFile(join(ws.dir, 'state', 'last_run.json'), 'utf8'), await readFile(join(ws.dir, 'state', 'history.jsonl'), 'utf8'));
    for (const text of shown) expect(text).not.toMatch(/SECRET/);
  }, 120_000);

  it('a Drive upload session URL never appears in the error of a failed upload', async () => {
    const emulator = await startDriveEmulator({ quotaBytes: 1e9 });
    const client = { clientId: 'ferry-test.apps.googleusercontent.com', clientSecret: 'emulator-client-secret', refreshToken: '1//emulator-refresh-token' };
    emulator.addOAuthClient(client);
    const creds = join(ws.dir, 'drive.json');
    await writeFile(creds, JSON.stringify({ type: 'authorized_user', client_id: client.clientId, client_secret: client.clientSecret, refresh_token: client.refreshToken }));
    // A proxy in front of the emulator that hands out session URLs on a dead port, so the first chunk's PUT fails.
    const dead = await deadPort();
    const sessions: string[] = [];
    const proxy = createServer((req, res) => {
      const upstream = new URL(req.url ?? '/', emulator.rootUrl);
      const fwd = request(upstream, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
        const headers = { ...up.headers };
        if (headers.location) {
          const loc = new URL(headers.location, emulator.rootUrl);
          loc.port = String(dead);
          headers.location = loc.href;
          sessions.push(loc.searchParams.get('upload_id')!);
        }
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      });
      req.pipe(fwd);
    });
    const proxyPort = await listen(proxy);
    try {
      const adapter = await gdrive.create('drive', {
        folder: 'sessions', chunk_size: 256 * 1024, api_root: `http://127.0.0.1:${proxyPort}/`, token_url: emulator.tokenUrl, credentials: await readFile(creds, 'utf8'), retries: 0, resume_timeout: 0,
      } as never, { configDir: ws.dir, log: silentLogger });
      const err = await adapter.put('a.tar.gz', streamBody(Readable.from([Buffer.alloc(1024 * 1024, 1)])), {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(sessions.length).toBeGreaterThan(0);
      const message = describeError(err);
      expect(message).toMatch(/127\.0\.0\.1/);
      for (const id of sessions) expect(message).not.toContain(id);
    } finally {
      await new Promise((r) => proxy.close(r));
      await emulator.stop();
    }
  });
});
