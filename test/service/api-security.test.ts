import { mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorized, requiredToken } from '../../src/service/api/auth.js';
import { confineToRoot } from '../../src/service/api/restore-path.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startFerry } from './process.js';

describe('API security', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('refuses to start without a token, and allows no-auth only on loopback', async () => {
    await ws.writeConfig(basicConfig());
    const none = await ws.run(['serve', '--listen', '127.0.0.1:0']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs api\.token/);
    await ws.writeConfig(basicConfig({ api: { insecure_no_auth: true } }));
    const open = await ws.run(['serve', '--listen', '0.0.0.0:0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/only works on a loopback address/);
    expect(() => requiredToken({ insecure_no_auth: true }, '127.0.0.1')).not.toThrow();
    expect(requiredToken({ insecure_no_auth: true }, '::1')).toBeUndefined();
  });

  it('accepts only the exact bearer token', () => {
    expect(authorized('Bearer s3cret', 's3cret')).toBe(true);
    expect(authorized('Bearer s3cre', 's3cret')).toBe(false);
    expect(authorized('bearer s3cret', 's3cret')).toBe(false);
    expect(authorized(undefined, 's3cret')).toBe(false);
  });

  it('keeps restore destinations inside restore_root, also through symlinks', async () => {
    const root = join(ws.dir, 'restores');
    await mkdir(root);
    await symlink(ws.dir, join(root, 'escape'));
    expect(await confineToRoot(root, 'job/today')).toBe(join(root, 'job', 'today'));
    await expect(confineToRoot(root, '../elsewhere')).rejects.toThrow(/outside api.restore_root/);
    await expect(confineToRoot(root, '/etc')).rejects.toThrow(/outside api.restore_root/);
    await expect(confineToRoot(root, 'escape/app')).rejects.toThrow(/through a symlink/);
  });

  it('restores through the API only when allowed, and only into restore_root', async () => {
    const token = 'restore-token-abcdef';
    await ws.writeConfig(basicConfig({ api: { token, allow_restore: true, restore_root: './restores' } }));
    expect((await ws.run(['run', '-q'])).code).toBe(0);
    const server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir);
    try {
      const base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
      const post = (body: unknown) => fetch(`${base}/api/restore`, {
        method: 'POST', body: JSON.stringify(body), headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      });
      const escape = await post({ to: '../outside' });
      expect(escape.status).toBe(403);
      expect(await readdir(ws.dir)).not.toContain('outside');
      const both = await post({ to: 'x', in_place: true, source: 'app' });
      expect(both.status).toBe(400);
      expect((await both.json()).error).toMatch(/either "to" or "in_place"/);
      const ok = await post({ to: 'today', source: 'app' });
      expect(ok.status, await ok.clone().text()).toBe(200);
      expect((await ok.json()).archive).toMatch(/^app-/);
      const original = await readdir(join(ws.dir, 'app'));
      expect((await readdir(join(ws.dir, 'restores', 'today', 'app'))).sort()).toEqual(original.sort());
      const again = await post({ to: 'today' });
      expect(again.status).toBe(400);
      expect((await again.json()).error).toMatch(/not empty/);
    } finally {
      await server.stop();
    }
  });
});
