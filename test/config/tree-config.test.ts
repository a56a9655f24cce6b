import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

describe('format: tree in the config', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  const encryption = { recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'] };

  it('tree together with job encryption is a config error that says why, and stores nothing', async () => {
    await ws.writeConfig(basicConfig({ encryption, targets: { snap: { type: 'local', path: './backups', keep: 7, format: 'tree' } } }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/backup\.config\.yaml:\d+:\d+: targets\.snap\.format: format: tree stores a browsable, unencrypted copy .* set encrypt: false/);
    expect(await readdir(ws.dir)).not.toContain('backups');
  });

  it('with encrypt: false the tree target stores plain files while the archive target of the same run is encrypted', async () => {
    await ws.writeConfig(basicConfig({
      encryption,
      targets: {
        archive: { type: 'local', path: './archives', keep: 7 },
        snap: { type: 'local', path: './backups', keep: 7, format: 'tree', encrypt: false },
      },
    }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(`${ws.dir}/archives`)).some((n) => n.endsWith('.tar.gz.age'))).toBe(true);
    const snaps = (await readdir(`${ws.dir}/backups`)).filter((n) => /^app-\d{8}T\d{6}Z$/.test(n));
    expect(snaps).toHaveLength(1);
    expect(await readdir(`${ws.dir}/backups/${snaps[0]}/app`)).toContain('config');
  });

  it('tree on a target type that cannot keep directories is a config error naming the types that can', async () => {
    await ws.writeConfig(basicConfig({ targets: { cloud: { type: 's3', bucket: 'b', endpoint: 'http://127.0.0.1:1', access_key_id: 'k', secret_access_key: 's', keep: 3, format: 'tree' } } }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/targets\.cloud\.format: format: tree needs a target that keeps plain directories \(local, usb, rsync or sftp\), not s3/);
  });

  it('encrypt: false on an archive target is refused', async () => {
    await ws.writeConfig(basicConfig({ encryption, targets: { local: { type: 'local', path: './backups', keep: 7, encrypt: false } } }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/targets\.local\.encrypt: encrypt: false is only for format: tree targets/);
  });
});
