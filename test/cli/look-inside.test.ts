import { execFileSync } from 'node:child_process';
import { chmod, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/storage/manifest.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const archivesIn = async (dir: string) => (await readdir(dir)).filter((f) => /Z\.tar\.gz(\.age)?$/.test(f)).sort();
const json = <T>(stdout: string) => JSON.parse(stdout) as T;
/** The path column of `ferry ls` lines (the last column; a link's target after ` -> ` dropped). */
const lsPaths = (stdout: string) => stdout.trim().split('\n').map((l) => l.split(/ {2}(?=\S)/).at(-1)!.replace(/ -> .*$/, ''));

describe('looking inside archives', () => {
  let ws: Workspace;
  let first: string;
  let second: string;
  let logSize: number;

  beforeAll(async () => {
    ws = await workspace();
    logSize = (await readFile(join(ws.dir, 'app', 'logs', 'app.log'))).length;
    await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app' }, { command: 'echo hello', as: 'inv/hello.txt' }] }));
    expect((await ws.run(['run'])).code).toBe(0);
    await writeFile(join(ws.dir, 'app', 'logs', 'app.log'), 'rotated\n');
    // A whole second away from the first run's copy, whatever the clock did meanwhile.
    await utimes(join(ws.dir, 'app', 'logs', 'app.log'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    await rm(join(ws.dir, 'app', 'logs', 'error.log'));
    await writeFile(join(ws.dir, 'app', 'notes.txt'), 'new\n');
    await chmod(join(ws.dir, 'app', 'config', 'app.yaml'), 0o600);
    expect((await ws.run(['run'])).code).toBe(0);
    [first, second] = await archivesIn(join(ws.dir, 'backups')) as [string, string];
  });
  afterAll(async () => { await ws?.cleanup(); });

  it('ls shows the top of the newest archive: its sources, directories it only implies, and the inventory', async () => {
    const r = await ws.run(['ls']);
    expect(r.code).toBe(0);
    expect(lsPaths(r.stdout)).toEqual(['app/', 'inv/', 'inventory.json', 'inventory.txt']);
    expect(r.stdout).toMatch(/^drwxr-xr-x .* app\/$/m);
    expect(r.stdout).toMatch(/^d\?{9} .* inv\/$/m);
  });

  it('ls PATH lists one directory with full archive paths, types, modes, sizes and times; -R everything below it', async () => {
    const r = await ws.run(['ls', first, 'app/logs']);
    expect(r.code).toBe(0);
    expect(lsPaths(r.stdout)).toEqual(['app/logs/app.log', 'app/logs/error.log']);
    expect(r.stdout).toMatch(/^-rw-r--r-- +25\.6 KiB {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}app\/logs\/app\.log$/m);

    const top = await ws.run(['ls', '/app/']);
    expect(lsPaths(top.stdout)).toContain('app/current-config.yaml');
    expect(top.stdout).toMatch(/^lrwxrwxrwx .* app\/current-config\.yaml -> config\/app\.yaml$/m);
    expect(lsPaths(top.stdout)).not.toContain('app/logs/app.log');

    const all = await ws.run(['ls', '-R', 'latest', 'app/uploads']);
    expect(lsPaths(all.stdout)).toEqual(expect.arrayContaining(['app/uploads/audio/', 'app/uploads/audio/take-1.ogg', 'app/uploads/empty-dir/']));

    const listed = json<{ archive: string; target: string; read_from: string; entries: { path: string; type: string; size: number; mode: number; sha256?: string }[] }>((await ws.run(['--json', 'ls', 'app/logs'])).stdout);
    expect(listed).toMatchObject({ archive: second, target: 'local', read_from: 'index' });
    expect(listed.entries).toEqual([expect.objectContaining({ path: 'app/logs/app.log', type: 'file', size: 8, mode: 0o644, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
  });

  it('ls of a path the archive does not hold exits 1 naming it', async () => {
    const r = await ws.run(['ls', 'app/nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"app/nope" is not in');
  });

  it('restore --only takes the paths ls prints, directories with their trailing slash and names with spaces included', async () => {
    const shown = lsPaths((await ws.run(['ls', 'app/uploads/audio'])).stdout);
    const picked = [shown.find((p) => p.includes('Grüße'))!, 'app/exports/'];
    expect(lsPaths((await ws.run(['ls', 'app'])).stdout)).toContain('app/exports/');
    const r = await ws.run(['restore', '--to', 'out', ...picked.flatMap((p) => ['--only', p])]);
    expect(r.code, r.stderr).toBe(0);
    const restored = execFileSync('find', ['out', '-type', 'f'], { cwd: ws.dir, encoding: 'utf8' }).trim().split('\n').sort();
    expect(restored).toEqual(['out/app/exports/2026/11/report.csv', `out/${picked[0]}`].sort());
  });

  it('find lists every version of the matching paths across the archives, with where and when each is', async () => {
    const r = await ws.run(['--json', 'find', '*.log']);
    expect(r.code, r.stderr).toBe(0);
    const found = json<{ archives: number; matches: { path: string; versions: { size: number; archives: { archive: string; created: string }[] }[] }[] }>(r.stdout);
    expect(found.archives).toBe(2);
    const byPath = Object.fromEntries(found.matches.map((m) => [m.path, m.versions]));
    expect(Object.keys(byPath)).toEqual(['app/logs/app.log', 'app/logs/error.log']);
    expect(byPath['app/logs/app.log']!.map((v) => [v.size, v.archives.map((a) => a.archive)])).toEqual([[logSize, [first]], [8, [second]]]);
    expect(byPath['app/logs/error.log']!.map((v) => v.archives.map((a) => a.archive))).toEqual([[first]]);
    expect(byPath['app/logs/error.log']![0]!.archives[0]!.created).toBe(new Date(Date.parse(`${first.slice(4, 8)}-${first.slice(8, 10)}-${first.slice(10, 12)}T${first.slice(13, 15)}:${first.slice(15, 17)}:${first.slice(17, 19)}Z`)).toISOString());

    const human = await ws.run(['find', 'app/config/*']);
    expect(human.stdout).toMatch(/^app\/config\/app\.yaml\n {2}47 B sha256 [0-9a-f]{12}, mtime \S+: in 2 archives, /m);
    expect(human.stdout).toContain('1 paths matching "app/config/*" in 2 archives on local');
  });

  it('diff lists what was added and removed, whose data changed (M) and whose metadata only (U)', async () => {
    const r = await ws.run(['diff', first, second]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual(expect.arrayContaining(['+ app/notes.txt', '- app/logs/error.log', 'M app/logs/app.log  (content, mtime)', 'U app/config/app.yaml  (mode)']));
    expect(lines).not.toContainEqual(expect.stringContaining('app/data/app.db'));
    const changes = json<{ added: number; removed: number; changes: { change: string }[] }>((await ws.run(['--json', 'diff', first, 'latest'])).stdout);
    expect([changes.added, changes.removed]).toEqual([1, 1]);
    expect(changes.changes.filter((c) => c.change === 'added')).toHaveLength(1);
  });

  it('stats shows per target the archive count, the stored bytes and each archive\'s size over time', async () => {
    const r = await ws.run(['--json', 'stats']);
    expect(r.code).toBe(0);
    const [local] = json<{ targets: { target: string; archives: number; stored_bytes: number; history: { archive: string; size: number; index_size: number }[] }[] }>(r.stdout).targets;
    const dir = join(ws.dir, 'backups');
    const size = async (f: string) => (await readFile(join(dir, f))).length;
    const expected = (await size(first)) + (await size(second)) + (await size(`${first}.index.jsonl.gz`)) + (await size(`${second}.index.jsonl.gz`));
    expect(local).toMatchObject({ target: 'local', archives: 2, stored_bytes: expected });
    expect(local!.history.map((h) => h.archive)).toEqual([first, second]);
    expect((await ws.run(['stats'])).stdout).toMatch(/^local: 2 archives, [\d.]+ KiB stored$/m);
  });

  it('ls, find and diff read only the sidecars: they work while an archive\'s bytes are damaged', async () => {
    const file = join(ws.dir, 'backups', first);
    const original = await readFile(file);
    await writeFile(file, Buffer.alloc(original.length, 0x55));
    try {
      expect((await ws.run(['ls', first, 'app/logs'])).code).toBe(0);
      expect((await ws.run(['diff', first, second])).code).toBe(0);
      expect((await ws.run(['find', 'error.log'])).stdout).toContain(first);
    } finally {
      await writeFile(file, original);
    }
  });

  it('an archive made without a sidecar is read whole instead, with the same answers', async () => {
    const dir = join(ws.dir, 'backups');
    const before = (await ws.run(['--json', 'ls', first, 'app/logs'])).stdout;
    const manifestFile = join(dir, `${first}.manifest.json`);
    const manifest = json<Manifest>(await readFile(manifestFile, 'utf8'));
    const sidecar = await readFile(join(dir, `${first}.index.jsonl.gz`));
    delete manifest.index;
    await rm(join(dir, `${first}.index.jsonl.gz`));
    await rm(manifestFile);
    await writeFile(manifestFile, JSON.stringify(manifest));
    try {
      const r = await ws.run(['--json', 'ls', first, 'app/logs']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('has no index sidecar');
      expect({ ...json<object>(r.stdout), read_from: 'index' }).toEqual(json<object>(before));
      expect(json<{ read_from: string }>(r.stdout).read_from).toBe('archive');
      expect((await ws.run(['diff', first, second])).stdout).toContain('- app/logs/error.log');
    } finally {
      await rm(manifestFile);
      await writeFile(manifestFile, JSON.stringify({ ...manifest, index: { name: `${first}.index.jsonl.gz`, size: sidecar.length, sha256: execFileSync('sha256sum', { input: sidecar, encoding: 'utf8' }).split(' ')[0] } }));
      await writeFile(join(dir, `${first}.index.jsonl.gz`), sidecar);
    }
  });
});

describe('looking inside encrypted archives', () => {
  let ws: Workspace;
  let archives: string[];

  beforeAll(async () => {
    ws = await workspace();
    await ws.run(['keygen', '--out', 'key.txt']);
    const recipient = /public key: (age1[0-9a-z]+)/.exec(await readFile(join(ws.dir, 'key.txt'), 'utf8'))![1];
    await ws.writeConfig(basicConfig({ encryption: { recipients: [recipient] } }));
    expect((await ws.run(['run'])).code).toBe(0);
    await writeFile(join(ws.dir, 'app', 'notes.txt'), 'secret plans\n');
    expect((await ws.run(['run'])).code).toBe(0);
    archives = await archivesIn(join(ws.dir, 'backups'));
  });
  afterAll(async () => { await ws?.cleanup(); });

  it('the sidecar of an encrypted archive is an age file for the same recipients: <archive>.index.jsonl.gz.age', async () => {
    const sidecar = join(ws.dir, 'backups', `${archives[0]}.index.jsonl.gz.age`);
    const bytes = await readFile(sidecar);
    expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(bytes.includes(Buffer.from('app/data/app.db'))).toBe(false);
    const plain = execFileSync('sh', ['-c', `age -d -i key.txt '${sidecar}' | gunzip`], { cwd: ws.dir, encoding: 'utf8' });
    expect(plain).toContain('"path":"app/data/app.db"');
  });

  it('ls, find and diff need the identity, as restore does, and work with it', async () => {
    const none = await ws.run(['ls', 'app']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/is encrypted: pass --identity FILE/);
    const ls = await ws.run(['ls', 'app', '--identity', 'key.txt']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(lsPaths(ls.stdout)).toContain('app/notes.txt');
    const find = await ws.run(['find', 'notes.txt', '-i', 'key.txt']);
    expect(find.stdout).toContain(`in ${archives[1]}`);
    const diff = await ws.run(['diff', archives[0]!, archives[1]!, '-i', 'key.txt']);
    expect(diff.stdout).toContain('+ app/notes.txt');
  });

  it('with a passphrase, the configured passphrase opens the sidecar', async () => {
    const pw = await workspace();
    try {
      await pw.writeConfig(basicConfig({ encryption: { passphrase: '${FERRY_PASSPHRASE}' } }));
      const env = { FERRY_PASSPHRASE: 'correct horse battery staple' };
      expect((await pw.run(['run'], env)).code).toBe(0);
      const r = await pw.run(['ls', 'app/logs'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(lsPaths(r.stdout)).toEqual(['app/logs/app.log', 'app/logs/error.log']);
      const wrong = await pw.run(['ls', 'app/logs'], { FERRY_PASSPHRASE: 'wrong' });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/wrong key or passphrase/);
    } finally {
      await pw.cleanup();
    }
  });
});
