import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import type { IndexEntry } from '../../src/index/format.js';
import { buildArchive } from '../../src/pipeline/archive.js';
import { fanOut } from '../../src/pipeline/fan-out.js';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import type { OpOptions, PutBody } from '../../src/storage/adapter.js';
import { readCatalog } from '../../src/storage/catalog.js';
import { StorageError } from '../../src/storage/errors.js';
import { buildManifest, type Manifest } from '../../src/storage/manifest.js';
import { silentLogger } from '../../src/log.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

/** Records the order of puts; can refuse the manifest. */
class Recording extends LocalAdapter {
  puts: string[] = [];
  refuseManifest = false;
  override async put(key: string, body: PutBody, options?: OpOptions): Promise<number> {
    this.puts.push(key);
    if (this.refuseManifest && key.endsWith('.manifest.json')) throw new StorageError('UNAVAILABLE', this.name, 'connection reset by peer');
    return super.put(key, body, options);
  }
}

function sidecarLines(bytes: Buffer): unknown[] {
  return gunzipSync(bytes).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
}

describe('index sidecar', () => {
  let ws: Workspace;
  const backups = () => join(ws.dir, 'backups');
  const files = async () => (await readdir(backups())).filter((f) => !f.startsWith('.')).sort();

  beforeAll(async () => {
    ws = await workspace();
    await mkdir(join(ws.dir, 'app', 'bin'));
    await writeFile(join(ws.dir, 'app', 'bin', 'tool'), '#!/bin/sh\n');
    await chmod(join(ws.dir, 'app', 'bin', 'tool'), 0o4755);
    await symlink('../data/app.db', join(ws.dir, 'app', 'bin', 'db-link'));
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
  });
  afterAll(async () => { await ws?.cleanup(); });

  it('every archive gets an index sidecar listing each entry with type, size, mode, mtime and sha256, recorded in the manifest', async () => {
    expect((await ws.run(['run'])).code).toBe(0);
    const [archive] = (await files()).filter((f) => f.endsWith('Z.tar.gz'));
    const stored = await readFile(join(backups(), `${archive}.index.jsonl.gz`));
    const manifest = JSON.parse(await readFile(join(backups(), `${archive}.manifest.json`), 'utf8')) as Manifest;
    expect(manifest.index).toEqual({ name: `${archive}.index.jsonl.gz`, size: stored.length, sha256: createHash('sha256').update(stored).digest('hex') });

    const [header, ...entries] = sidecarLines(stored) as [unknown, ...IndexEntry[]];
    expect(header).toEqual({ format: 'ferry-index/1', job: 'app', archive });
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const db = await readFile(join(ws.dir, 'app', 'data', 'app.db'));
    expect(byPath.get('app/data/app.db')).toMatchObject({ type: 'file', size: db.length, mode: 0o644, sha256: createHash('sha256').update(db).digest('hex') });
    expect(byPath.get('app/bin/tool')).toMatchObject({ type: 'file', mode: 0o4755 });
    expect(byPath.get('app/bin/db-link')).toMatchObject({ type: 'symlink', link: '../data/app.db' });
    expect(byPath.get('app/uploads/empty-dir')).toMatchObject({ type: 'dir', size: 0 });
    expect(byPath.get('inventory.json')).toMatchObject({ type: 'file' });
    for (const e of entries) expect(Date.parse(e.mtime!), e.path).not.toBeNaN();
    // Every entry `tar -t` lists is in the index, and nothing else.
    const { execFileSync } = await import('node:child_process');
    const listed = execFileSync('tar', ['-tzf', join(backups(), archive!)], { encoding: 'utf8' }).trim().split('\n').map((p) => p.replace(/\/$/, ''));
    expect(entries.map((e) => e.path).sort()).toEqual(listed.sort());
  });

  it('list and the catalog count the sidecar as part of its archive, never as an archive of its own', async () => {
    const list = await ws.run(['list', '--json']);
    const listing = JSON.parse(list.stdout) as { targets: { archives: unknown[]; incomplete: number; foreign: unknown[] }[] };
    expect(listing.targets[0]).toMatchObject({ incomplete: 0, foreign: [] });
    expect(listing.targets[0]!.archives).toHaveLength(1);
    const catalog = await readCatalog(new LocalAdapter('local', backups()), 'app');
    expect([catalog.complete.length, catalog.incomplete.length, catalog.orphanManifests.length]).toEqual([1, 0, 0]);
  });

  it('prune removes the sidecar together with its archive and manifest', async () => {
    const before = await files();
    expect((await ws.run(['run'])).code).toBe(0);
    const after = await files();
    const newest = after.find((f) => f.endsWith('Z.tar.gz'))!;
    expect(before).not.toContain(newest);
    expect(after).toEqual([newest, `${newest}.index.jsonl.gz`, `${newest}.manifest.json`, 'app-latest.tar.gz'].sort());
  });

  it('the sidecar is stored after the archive and before the manifest, and a push that fails at the manifest leaves neither behind', async () => {
    const source: PreparedSource = { as: 'app', kind: 'path', fsPath: join(ws.dir, 'app'), exclude: [], cleanup: async () => {} };
    const archive = 'app-20260101T000000Z.tar.gz';
    const push = async (adapter: Recording) => {
      const built = await buildArchive({ job: 'app', started: new Date(), sources: [source], level: 6, commands: {}, index: { archive, dir: ws.dir } });
      return fanOut(built, [{ name: adapter.name, config: { type: 'local', keep: 3, retries: 0 }, adapter }], {
        job: 'app', archive, encrypted: false, log: silentLogger,
        manifest: (r) => buildManifest({ job: 'app', archive, created: new Date().toISOString(), size: r.size, sha256: r.sha256, encrypted: false, compression: { algorithm: 'gzip', level: 6 }, sources: [], warnings: 0, index: r.index }),
      });
    };
    const good = new Recording('good', join(ws.dir, 'good'));
    expect((await push(good))[0]!.ok).toBe(true);
    expect(good.puts).toEqual([archive, `${archive}.index.jsonl.gz`, `${archive}.manifest.json`]);

    const failing = new Recording('failing', join(ws.dir, 'failing'));
    failing.refuseManifest = true;
    expect((await push(failing))[0]!.ok).toBe(false);
    expect((await readdir(join(ws.dir, 'failing'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});
