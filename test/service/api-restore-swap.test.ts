import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startDriveEmulator, type DriveEmulator } from '../servers/drive-emulator/index.js';
import { startFerry } from './process.js';

const TOKEN = 'restore-swap-token-abcdef';
const CLIENT = { clientId: 'ferry-test.apps.googleusercontent.com', clientSecret: 'emulator-client-secret', refreshToken: '1//emulator-refresh-token' };

/**
 * A proxy in front of the Drive emulator that, once armed, holds the next
 * request until released: the restore is then paused after its destination
 * was validated and before anything is written.
 */
function holdingProxy(emulator: DriveEmulator) {
  let armed: { arrived: () => void; gate: Promise<void> } | undefined;
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = new URL(req.url ?? '/', emulator.rootUrl);
    const fwd = request(upstream, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(fwd);
  };
  const server: Server = createServer((req, res) => {
    const hold = armed;
    armed = undefined;
    if (!hold) return forward(req, res);
    hold.arrived();
    void hold.gate.then(() => forward(req, res));
  });
  return {
    server,
    listen: () => new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`))),
    /** Holds the next request; resolves `arrived` when it comes, and lets it through on `release()`. */
    arm() {
      let release!: () => void;
      let arrived!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      const came = new Promise<void>((r) => { arrived = r; });
      armed = { arrived, gate };
      return { arrived: came, release };
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('API restores never leave restore_root', () => {
  let ws: Workspace;
  let emulator: DriveEmulator;
  let proxy: ReturnType<typeof holdingProxy>;
  beforeEach(async () => {
    ws = await workspace();
    emulator = await startDriveEmulator({ quotaBytes: 1e9 });
    emulator.addOAuthClient(CLIENT);
    proxy = holdingProxy(emulator);
    const apiRoot = await proxy.listen();
    await writeFile(join(ws.dir, 'drive.json'), JSON.stringify({ type: 'authorized_user', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, refresh_token: CLIENT.refreshToken }));
    await ws.writeConfig(basicConfig({
      api: { token: TOKEN, allow_restore: true, restore_root: './restores' },
      targets: { drive: { type: 'gdrive', folder: 'swap', credentials_file: './drive.json', api_root: apiRoot, token_url: emulator.tokenUrl, keep: 3 } },
    }));
    const run = await ws.run(['run', '-q']);
    expect(run.code, run.stderr).toBe(0);
  });
  afterEach(async () => {
    await proxy.close();
    await emulator.stop();
    await ws.cleanup();
  });

  it('a directory under restore_root swapped for a symlink after validation never redirects the restore outside', async () => {
    const root = join(ws.dir, 'restores');
    const outside = join(ws.dir, 'outside');
    await mkdir(join(root, 'sub'), { recursive: true });
    await mkdir(outside);
    const server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir);
    try {
      const base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
      const hold = proxy.arm();
      const answer = fetch(`${base}/api/restore`, {
        method: 'POST', body: JSON.stringify({ to: 'sub/today' }), headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      });
      // The request was validated and the restore is now waiting for the target: swap the directory.
      await hold.arrived;
      await rename(join(root, 'sub'), join(root, 'sub-moved'));
      await symlink(outside, join(root, 'sub'));
      hold.release();
      const res = await answer;
      const body = await res.json() as { to?: string };
      expect(await readdir(outside)).toEqual([]);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.to).toBe(join(root, 'sub', 'today'));
      // The restore went into the directory that was validated, wherever it now is inside the root.
      expect((await readdir(join(root, 'sub-moved', 'today', 'app'))).sort()).toEqual((await readdir(join(ws.dir, 'app'))).sort());
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('a directory moved out of restore_root during the restore makes it fail with 403, leaving nothing there', async () => {
    const root = join(ws.dir, 'restores');
    const elsewhere = join(ws.dir, 'elsewhere');
    await mkdir(join(root, 'sub'), { recursive: true });
    const server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir);
    try {
      const base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
      const hold = proxy.arm();
      const answer = fetch(`${base}/api/restore`, {
        method: 'POST', body: JSON.stringify({ to: 'sub/today' }), headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      });
      await hold.arrived;
      await rename(join(root, 'sub'), elsewhere);
      hold.release();
      const res = await answer;
      expect(res.status, await res.clone().text()).toBe(403);
      expect((await res.json() as { error: string }).error).toMatch(/outside api\.restore_root/);
      expect(await readdir(elsewhere)).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
