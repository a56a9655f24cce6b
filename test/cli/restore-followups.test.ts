import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import { readManifest } from '../../src/storage/manifest-read.js';
import { extractTar } from '../../src/restore/extract.js';
import { gunzipped, readArchive } from '../../src/restore/open.js';
import type { Target } from '../../src/storage/targets.js';
import { craftTarGz, plantArchive } from '../helpers/archive.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const NAME = 'app-20261101T031500Z.tar.gz';
const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

describe('restore follow-ups', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig());
    await mkdir(join(ws.dir, 'backups'));
  });
  afterEach(async () => { await ws.cleanup(); });

  it('restore --force into a non-empty directory keeps names that are not valid UTF-8 byte for byte', async () => {
    mkdirSync(join(ws.dir, 'src', 'sub'), { recursive: true });
    writeFileSync(Buffer.from(`${ws.dir}/src/sub/na\xefve`, 'latin1'), 'new latin1');
    writeFileSync(Buffer.from(`${ws.dir}/src/sub/na\xeeve`, 'latin1'), 'other latin1');
    sh('tar --format=posix -czf foreign.tar.gz -C src .', ws.dir);
    await plantArchive(join(ws.dir, 'backups'), 'app', NAME, readFileSync(join(ws.dir, 'foreign.tar.gz')));
    mkdirSync(join(ws.dir, 'dest', 'sub'), { recursive: true });
    writeFileSync(Buffer.from(`${ws.dir}/dest/sub/na\xefve`, 'latin1'), 'old latin1');
    writeFileSync(join(ws.dir, 'dest', 'mine.txt'), 'mine');
    const r = await ws.run(['restore', NAME, '--to', 'dest', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(Buffer.from(`${ws.dir}/dest/sub/na\xefve`, 'latin1'), 'utf8')).toBe('new latin1');
    expect(readFileSync(Buffer.from(`${ws.dir}/dest/sub/na\xeeve`, 'latin1'), 'utf8')).toBe('other latin1');
    expect(readdirSync(join(ws.dir, 'dest', 'sub'), { encoding: 'buffer' })).toHaveLength(2);
    expect(readFileSync(join(ws.dir, 'dest', 'mine.txt'), 'utf8')).toBe('mine');
  });

  it('--only app/sub gives the parent app the mode the archive stores, not 0700', async () => {
    await plantArchive(join(ws.dir, 'backups'), 'app', NAME, craftTarGz([
      { path: 'app', type: 'Directory', mode: 0o751 },
      { path: 'app/a.txt', data: 'a' },
      { path: 'app/sub', type: 'Directory', mode: 0o755 },
      { path: 'app/sub/b.txt', data: 'b' },
    ]));
    const r = await ws.run(['restore', '--to', 'out', '--only', 'app/sub']);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(join(ws.dir, 'out', 'app'))).mode & 0o7777).toBe(0o751);
    expect(readdirSync(join(ws.dir, 'out', 'app')).sort()).toEqual(['sub']);
  });

  it('an empty FERRY_PASSPHRASE is refused with exit 2 naming it', async () => {
    await plantArchive(join(ws.dir, 'backups'), 'app', NAME, craftTarGz([{ path: 'app', type: 'Directory' }]));
    for (const args of [['restore', '--to', 'out'], ['verify']]) {
      const r = await ws.run(args, { FERRY_PASSPHRASE: '' });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('FERRY_PASSPHRASE');
    }
    expect(readdirSync(ws.dir)).not.toContain('out');
  });

  it('verify --all exits 1 when the archive fails on one target, and still reports the one that is ok', async () => {
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 7 }, other: { type: 'local', path: './other', keep: 7 } } }));
    await mkdir(join(ws.dir, 'other'));
    await plantArchive(join(ws.dir, 'backups'), 'app', NAME, craftTarGz([{ path: 'app', type: 'Directory' }]));
    await plantArchive(join(ws.dir, 'other'), 'app', NAME, Buffer.from('not a gzip at all'));
    const r = await ws.run(['verify', NAME, '--all']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/local: ok/);
    expect(r.stdout).toMatch(/other: FAILED/);
  });
});

describe('operator mistakes are usage errors naming what is wrong', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig());
    await mkdir(join(ws.dir, 'backups'));
    await plantArchive(join(ws.dir, 'backups'), 'app', NAME, craftTarGz([{ path: 'app', type: 'Directory' }]));
  });
  afterEach(async () => { await ws.cleanup(); });

  it('pull --out into a missing directory is exit 2 naming the directory, and nothing is downloaded', async () => {
    const r = await ws.run(['pull', '--out', 'missing/dir/x.tar.gz']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`ferry: --out missing/dir/x.tar.gz: directory ${join(ws.dir, 'missing', 'dir')} does not exist`]);
  });

  it('verify --target naming an unknown target is exit 2 naming it', async () => {
    const r = await ws.run(['verify', '--target', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown target "nope"');
  });
});

describe('a refused restore closes the target download', () => {
  it('the adapter\'s download stream is destroyed when extraction refuses an entry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-refused-'));
    try {
      // Incompressible padding, so the download is still far from its end when the first entry is refused.
      const padding = Array.from({ length: 100 }, (_, i) => ({ path: `p/f${i}`, data: randomBytes(60_000).toString('base64') }));
      await plantArchive(dir, 'app', NAME, craftTarGz([{ path: '../escape', data: 'evil' }, ...padding]));
      const adapter = new LocalAdapter('local', dir);
      const manifest = await readManifest(adapter, NAME);
      const opened: Readable[] = [];
      const get = adapter.get.bind(adapter);
      adapter.get = async (key, opts) => { const s = await get(key, opts); opened.push(s as Readable); return s; };
      const target = { name: 'local', config: { type: 'local' }, adapter } as unknown as Target;
      const out = join(dir, 'out');
      await mkdir(out);
      await expect(readArchive(target, manifest, {}, (stream) => extractTar(gunzipped(stream), out))).rejects.toThrow(/\.\.\/escape/);
      expect(opened.length).toBeGreaterThan(0);
      // The first download is the archive read; diagnosing the failure may open a second one to recheck the bytes.
      expect(opened[0]!.destroyed).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
