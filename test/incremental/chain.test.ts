import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

const incremental = (overrides: Record<string, unknown> = {}) => basicConfig({ incremental: { full_every: 7 }, ...overrides });

interface Run { archive: string; level: number; parent?: string; chain_length: number; full_because?: string; status: string }

async function run(ws: Workspace, args: string[] = []): Promise<Run> {
  const r = await ws.run(['run', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Run;
}

/** Archive names on the local target, oldest first. */
async function archives(ws: Workspace, dir = 'backups'): Promise<string[]> {
  return (await readdir(join(ws.dir, dir))).filter((f) => /^app-\d{8}T\d{6}Z(\.incr)?\.tar\.gz$/.test(f)).sort();
}

describe('incremental archives', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('plain GNU tar restores a 3-archive chain exactly, with a deletion and a rename in it', async () => {
    await ws.writeConfig(incremental());
    const full = await run(ws);
    expect(full).toMatchObject({ level: 0, chain_length: 1 });
    await rm(join(ws.dir, 'app/config/app.yaml'));
    await rename(join(ws.dir, 'app/uploads'), join(ws.dir, 'app/files'));
    await writeFile(join(ws.dir, 'app/new.txt'), 'new\n');
    const first = await run(ws);
    expect(first).toMatchObject({ level: 1, parent: full.archive, chain_length: 2 });
    expect(first.archive).toMatch(/^app-\d{8}T\d{6}Z\.incr\.tar\.gz$/);
    sh('cp -a app snapshot-1', ws.dir);
    await rename(join(ws.dir, 'app/new.txt'), join(ws.dir, 'app/renamed.txt'));
    await rm(join(ws.dir, 'app/files/empty-dir'), { recursive: true });
    const second = await run(ws);
    expect(second).toMatchObject({ level: 2, parent: first.archive, chain_length: 3 });

    await mkdir(join(ws.dir, 'gnu'));
    for (const a of await archives(ws)) sh(`tar -xz --listed-incremental=/dev/null -f ../backups/${a}`, join(ws.dir, 'gnu'));
    sh('diff -r --no-dereference app gnu/app', ws.dir);
    expect(sh('readlink gnu/app/current-config.yaml', ws.dir).trim()).toBe('config/app.yaml');

    const latest = await ws.run(['restore', 'latest', '--to', 'out']);
    expect(latest.code, latest.stderr).toBe(0);
    sh('diff -r --no-dereference app out/app', ws.dir);
    const middle = await ws.run(['restore', first.archive, '--to', 'out-1']);
    expect(middle.code, middle.stderr).toBe(0);
    sh('diff -r --no-dereference snapshot-1 out-1/app', ws.dir);
  });

  it('--at, --source, --only and --in-place give exactly the tree of that point in the chain', async () => {
    await ws.writeConfig(incremental());
    const full = await run(ws);
    sh('cp -a app snapshot-0', ws.dir);
    await rm(join(ws.dir, 'app/config/app.yaml'));
    await writeFile(join(ws.dir, 'app/config/other.yaml'), 'other\n');
    await run(ws);
    sh('cp -a app snapshot-1', ws.dir);
    const { created } = JSON.parse(await readFile(join(ws.dir, 'backups', `${full.archive}.manifest.json`), 'utf8'));
    const at = await ws.run(['restore', '--at', created, '--to', 'at-0']);
    expect(at.code, at.stderr).toBe(0);
    sh('diff -r --no-dereference snapshot-0 at-0/app', ws.dir);
    const only = await ws.run(['restore', 'latest', '--only', 'app/config', '--to', 'only']);
    expect(only.code, only.stderr).toBe(0);
    sh('diff -r --no-dereference snapshot-1/config only/app/config', ws.dir);
    const source = await ws.run(['restore', 'latest', '--source', 'app', '--to', 'source']);
    expect(source.code, source.stderr).toBe(0);
    sh('diff -r --no-dereference snapshot-1 source/app', ws.dir);
    await writeFile(join(ws.dir, 'app/config/later.yaml'), 'later\n');
    const inPlace = await ws.run(['restore', 'latest', '--source', 'app', '--in-place']);
    expect(inPlace.code, inPlace.stderr).toBe(0);
    sh('diff -r --no-dereference snapshot-1 app', ws.dir);
  });

  it('--only reads just the archives holding the selected files: a damaged archive elsewhere in the chain does not stop it, a full restore names it', async () => {
    await ws.writeConfig(incremental());
    await mkdir(join(ws.dir, 'app/notes'));
    await writeFile(join(ws.dir, 'app/notes/kept.txt'), 'stored by the full archive only\n');
    await run(ws);
    await writeFile(join(ws.dir, 'app/notes/middle.txt'), 'first version\n');
    const middle = await run(ws);
    await writeFile(join(ws.dir, 'app/notes/middle.txt'), 'second, longer version\n');
    await writeFile(join(ws.dir, 'app/notes/newest.txt'), 'newest\n');
    const newest = await run(ws);
    expect(newest.chain_length).toBe(3);
    sh('cp -a app final', ws.dir);
    // Damage the middle archive's bytes; its manifest still names the old size and sha256.
    const damaged = join(ws.dir, 'backups', middle.archive);
    const bytes = await readFile(damaged);
    for (let i = 40; i < bytes.length - 40; i += 97) bytes[i] = bytes[i]! ^ 0xff;
    await writeFile(damaged, bytes);

    const only = await ws.run(['restore', 'latest', '--only', 'app/notes', '--to', 'only']);
    expect(only.code, only.stderr).toBe(0);
    sh('diff -r --no-dereference final/notes only/app/notes', ws.dir);
    expect(only.stderr).toContain(`1 of 3 archives of the chain hold none of the selected files and are not read: ${middle.archive}`);

    const whole = await ws.run(['restore', 'latest', '--to', 'whole']);
    expect(whole.code).toBe(1);
    expect(whole.stderr).toContain(middle.archive);
    await expect(readdir(join(ws.dir, 'whole'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a second run on unchanged data stores no file again, and its inventory lists every file with the archive holding it', async () => {
    await ws.writeConfig(incremental());
    const full = await run(ws);
    const again = await run(ws);
    expect(again.level).toBe(1);
    const listed = sh(`tar -tzf backups/${again.archive}`, ws.dir).split('\n').filter((l) => l && !l.endsWith('/'));
    expect(listed.filter((l) => l !== 'app/current-config.yaml')).toEqual(['inventory.json', 'inventory.txt']);
    const inventory = JSON.parse(sh(`tar -xzOf backups/${again.archive} inventory.json`, ws.dir));
    const entries = inventory.sources[0].entries as { path: string; archive: string }[];
    expect(entries.length).toBe(Number(sh('find app -type f | wc -l', ws.dir).trim()));
    expect(new Set(entries.map((e) => e.archive))).toEqual(new Set([full.archive]));
  });

  it('a changed file is stored again when only its mtime changed, and the rest is not', async () => {
    await ws.writeConfig(incremental());
    await run(ws);
    sh('touch -d "2021-01-01 00:00:00" app/config/app.yaml', ws.dir);
    const next = await run(ws);
    const files = sh(`tar -tzf backups/${next.archive}`, ws.dir).split('\n').filter((l) => l && !l.endsWith('/') && !l.startsWith('inventory.') && l !== 'app/current-config.yaml');
    expect(files).toEqual(['app/config/app.yaml']);
  });

  it('an incremental archive\'s inventory.txt lists the files it stores and counts the unchanged ones per archive holding them', async () => {
    await ws.writeConfig(incremental());
    const full = await run(ws);
    const fullText = sh(`tar -xzOf backups/${full.archive} inventory.txt`, ws.dir);
    expect(fullText).toMatch(/^Files:\n {2}[0-9a-f]{64} {2}\d+ {2}app\/config\/app\.yaml$/m);
    sh('touch -d "2021-01-01 00:00:00" app/config/app.yaml', ws.dir);
    const next = await run(ws);
    const text = sh(`tar -xzOf backups/${next.archive} inventory.txt`, ws.dir);
    const stored = text.split('Files stored in this archive:\n')[1]!.split('\n\n')[0]!.split('\n').filter(Boolean);
    expect(stored.map((l) => l.split('  ').at(-1))).toEqual(['app/config/app.yaml']);
    const inventory = JSON.parse(sh(`tar -xzOf backups/${next.archive} inventory.json`, ws.dir));
    const entries = inventory.sources.flatMap((s: { entries: { sha256: string }[] }) => s.entries) as { sha256: string }[];
    expect(entries.every((e) => /^[0-9a-f]{64}$/.test(e.sha256))).toBe(true);
    expect(text).toContain(`\n  ${full.archive}  ${entries.length - 1} files, `);
  });

  it('makes a full archive and says why: no state, changed sources, every full_every-th run, a chain older than full_after', async () => {
    await ws.writeConfig(incremental({ incremental: { full_every: 2 } }));
    expect((await run(ws)).full_because).toBe('no previous state in state_dir');
    expect((await run(ws)).level).toBe(1);
    expect((await run(ws)).full_because).toBe('every 2nd archive is a full one');
    await ws.writeConfig(incremental({ incremental: { full_every: 5 }, sources: [{ path: './app', as: 'app', exclude: ['logs/**'] }] }));
    expect((await run(ws)).full_because).toBe('the sources in the config changed');
    await rm(join(ws.dir, 'state/incremental.json'));
    expect((await run(ws)).full_because).toBe('no previous state in state_dir');
    expect((await run(ws)).level).toBe(1);
    const state = JSON.parse(await readFile(join(ws.dir, 'state/incremental.json'), 'utf8'));
    await writeFile(join(ws.dir, 'state/incremental.json'), JSON.stringify({ ...state, fullCreated: '2020-01-01T00:00:00Z' }));
    await ws.writeConfig(incremental({ incremental: { full_every: 5, full_after: '8d' }, sources: [{ path: './app', as: 'app', exclude: ['logs/**'] }] }));
    expect((await run(ws)).full_because).toMatch(/is older than full_after$/);
  });

  it('a command source is left out of an incremental archive while its output hashes the same', async () => {
    await writeFile(join(ws.dir, 'out.txt'), 'one\n');
    await ws.writeConfig(incremental({ sources: [{ path: './app', as: 'app' }, { command: 'cat out.txt', as: 'cmd/out.txt' }] }));
    await run(ws);
    const same = await run(ws);
    expect(sh(`tar -tzf backups/${same.archive}`, ws.dir)).not.toContain('cmd/out.txt');
    await writeFile(join(ws.dir, 'out.txt'), 'two\n');
    const changed = await run(ws);
    expect(sh(`tar -xzOf backups/${changed.archive} cmd/out.txt`, ws.dir)).toBe('two\n');
    await mkdir(join(ws.dir, 'gnu'));
    for (const a of await archives(ws)) sh(`tar -xz --listed-incremental=/dev/null -f ../backups/${a}`, join(ws.dir, 'gnu'));
    expect(await readFile(join(ws.dir, 'gnu/cmd/out.txt'), 'utf8')).toBe('two\n');
  });

  it('a target that missed a run is given the archives it lacks from another target, and the result says which', async () => {
    const targets = { local: { type: 'local', path: './backups', keep: 7 }, second: { type: 'local', path: './second', keep: 7 } };
    await ws.writeConfig(incremental({ targets }));
    const full = await run(ws, ['--target', 'local']);
    await writeFile(join(ws.dir, 'app/new.txt'), 'new\n');
    const both = await run(ws) as Run & { targets: { target: string; filled?: unknown }[] };
    expect(both).toMatchObject({ level: 1, parent: full.archive });
    expect(both.targets.find((t) => t.target === 'second')!.filled).toEqual({ copied: [full.archive], from: 'local' });
    expect(await archives(ws, 'second')).toEqual([full.archive, both.archive]);
    for (const from of ['local', 'second']) {
      await rm(join(ws.dir, 'out'), { recursive: true, force: true });
      const r = await ws.run(['restore', 'latest', '--from', from, '--to', 'out']);
      expect(r.code, r.stderr).toBe(0);
      sh('diff -r --no-dereference app out/app', ws.dir);
    }
  });

  it('a target that lacks the chain and has no other target to copy it from gets a full archive, and the result says why', async () => {
    const targets = { local: { type: 'local', path: './backups', keep: 7 }, second: { type: 'local', path: './second', keep: 7 } };
    await ws.writeConfig(incremental({ targets }));
    const full = await run(ws, ['--target', 'local']);
    const alone = await run(ws, ['--target', 'second']);
    expect(alone).toMatchObject({ level: 0, full_because: `target second does not hold ${full.archive} of the chain` });
    expect(await archives(ws, 'second')).toEqual([alone.archive]);
  });

  it('prune keeps the chain of every kept archive, and deletes an old chain once a new full archive is kept', async () => {
    await ws.writeConfig(incremental({ incremental: { full_every: 3 }, targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    const made = [await run(ws), await run(ws), await run(ws)];
    expect(await archives(ws)).toEqual(made.map((r) => r.archive));
    const plan = JSON.parse((await ws.run(['prune', '--dry-run', '--json'])).stdout);
    const reasons = Object.fromEntries(plan.targets[0].plan.map((d: { name: string; reasons: string[] }) => [d.name, d.reasons]));
    expect(reasons[made[0]!.archive]).toContain(`base of ${made[2]!.archive}`);
    const fresh = await run(ws);
    expect(fresh.level).toBe(0);
    expect(await archives(ws)).toEqual([fresh.archive]);
  });

  it('verify reads every archive of the chain; list shows level and parent; status the chain length', async () => {
    await ws.writeConfig(incremental());
    const full = await run(ws);
    await writeFile(join(ws.dir, 'app/new.txt'), 'new\n');
    const next = await run(ws);
    const verify = await ws.run(['verify', 'latest', '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(full.archive);
    const list = JSON.parse((await ws.run(['list', '--json'])).stdout);
    expect(list.targets[0].archives.map((a: { level: number; parent?: string }) => [a.level, a.parent])).toEqual([[0, undefined], [1, full.archive]]);
    const status = await ws.run(['status']);
    expect(status.stdout).toContain(`chain length: 2 (level 1 on ${full.archive})`);
    // A damaged base makes verify of the newest archive fail, naming the base.
    const bytes = await readFile(join(ws.dir, 'backups', full.archive));
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    await writeFile(join(ws.dir, 'backups', full.archive), bytes);
    const broken = await ws.run(['verify', next.archive]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr + broken.stdout).toContain(full.archive);
  });

  it('without incremental, archives are full and manifests have no level', async () => {
    await ws.writeConfig(basicConfig());
    await run(ws);
    const again = await run(ws);
    expect(again.archive).toMatch(/^app-\d{8}T\d{6}Z\.tar\.gz$/);
    const manifest = JSON.parse(await readFile(join(ws.dir, 'backups', `${again.archive}.manifest.json`), 'utf8'));
    expect(manifest.level).toBeUndefined();
    expect(manifest.chain).toBeUndefined();
  });
});

describe('encrypted incremental archives', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('age -d then GNU tar restores an encrypted chain; pull fetches the chain into a directory; ferry restores it with --identity', async () => {
    const keygen = await ws.run(['keygen', '--out', 'key.txt']);
    const recipient = /age1[0-9a-z]+/.exec(keygen.stdout)![0];
    await ws.writeConfig(incremental({ encryption: { recipients: [recipient] } }));
    const full = await run(ws);
    await rm(join(ws.dir, 'app/config/app.yaml'));
    const next = await run(ws);
    expect(next.archive).toMatch(/\.incr\.tar\.gz\.age$/);
    await mkdir(join(ws.dir, 'pulled'));
    const pull = await ws.run(['pull', next.archive, '--out', 'pulled']);
    expect(pull.code, pull.stderr).toBe(0);
    expect((await readdir(join(ws.dir, 'pulled'))).sort()).toEqual([full.archive, next.archive].sort());
    await mkdir(join(ws.dir, 'gnu'));
    for (const a of [full.archive, next.archive]) sh(`age -d -i ../key.txt ../pulled/${a} | tar -xz --listed-incremental=/dev/null`, join(ws.dir, 'gnu'));
    sh('diff -r --no-dereference app gnu/app', ws.dir);
    const restored = await ws.run(['restore', '--identity', 'key.txt', '--to', 'out']);
    expect(restored.code, restored.stderr).toBe(0);
    sh('diff -r --no-dereference app out/app', ws.dir);
  });
});
