import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, readFile, readlink, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, FERRY, workspace, type Workspace } from '../helpers/cli.js';
import { listTree } from '../helpers/tree-listing.js';
import { waitFor, waitForExit } from '../helpers/wait.js';

/** One kind of tree target for the suite. */
export interface TreeSuiteTarget {
  /** The target's config (type and options) for snapshots kept in `path`, a directory as the target names it. */
  target(path: string): Record<string, unknown>;
  /** Where `path` for `job` points, as the target names it. */
  pathFor(job: string): string;
  /** The same directory as this machine sees it (the test servers run here). */
  onDisk(job: string): string;
  cleanup?(): Promise<void>;
}

const SNAPSHOT = /^(app|killed|pruned|quick|hashed)-\d{8}T\d{6}Z$/;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The behaviour every `format: tree` target must show (local, usb, rsync,
 * sftp), through the CLI as a user runs it. The cases run in order on one
 * workspace: each builds on the snapshots the previous ones made.
 */
export function testTreeTarget(label: string, setup: () => Promise<TreeSuiteTarget>): void {
  describe(`format: tree on ${label}`, () => {
    let t: TreeSuiteTarget;
    let ws: Workspace;
    let src: string;
    const snapshots = (job: string) => readdirSync(t.onDisk(job)).filter((n) => SNAPSHOT.test(n)).sort();
    const config = (job: string, extra: Record<string, unknown> = {}) => ws.writeConfig({
      job,
      state_dir: `./state-${job}`,
      sources: [{ path: src, as: 'data' }],
      targets: { snap: { ...t.target(t.pathFor(job)), keep: 7, format: 'tree', ...extra } },
    });
    const run = async (args: string[]) => {
      const r = await ws.run(args);
      return r;
    };

    beforeAll(async () => {
      t = await setup();
      ws = await workspace();
      src = join(ws.dir, 'src');
      await mkdir(join(src, 'sub'), { recursive: true });
      await mkdir(join(src, 'empty'));
      await writeFile(join(src, 'a.txt'), 'unchanged\n');
      await writeFile(join(src, 'sub', 'b.txt'), 'version 1\n');
      await writeFile(join(src, 'run.sh'), '#!/bin/sh\n');
      await chmod(join(src, 'run.sh'), 0o750);
      await symlink('a.txt', join(src, 'link'));
      // Written in the last half millisecond of a second: stored, linked and restored, they stay in that second.
      const late = Date.UTC(2026, 0, 1, 23, 59, 59) / 1000 + 0.9997;
      await utimes(join(src, 'a.txt'), late, late);
      await utimes(join(src, 'run.sh'), late, late);
      await lutimes(join(src, 'link'), late - 3600, late - 3600);
    }, 120_000);

    afterAll(async () => {
      await ws?.cleanup();
      await t?.cleanup?.();
    }, 60_000);

    it('a run stores a plain directory with the inventory, a manifest beside it and a latest link', async () => {
      await config('app');
      const r = await run(['run', '--json']);
      expect(r.code, r.stderr).toBe(0);
      // The run's summary counts the snapshot's files, as it counts an archive's.
      expect(JSON.parse(r.stdout).summary).toMatchObject({ files: 3, bytes_read: 'unchanged\n'.length + 'version 1\n'.length + '#!/bin/sh\n'.length });
      const [snap] = snapshots('app');
      expect(snap).toBeDefined();
      const dir = join(t.onDisk('app'), snap!);
      expect(await readFile(join(dir, 'data', 'a.txt'), 'utf8')).toBe('unchanged\n');
      expect(await readlink(join(dir, 'data', 'link'))).toBe('a.txt');
      expect((await stat(join(dir, 'data', 'run.sh'))).mode & 0o7777).toBe(0o750);
      expect((await stat(join(dir, 'data', 'empty'))).isDirectory()).toBe(true);
      const inventory = JSON.parse(await readFile(join(dir, 'inventory.json'), 'utf8'));
      expect(inventory.sources[0].entries.map((e: { path: string }) => e.path)).toEqual(['data/a.txt', 'data/run.sh', 'data/sub/b.txt']);
      // The directory is the listing: inventory.txt sums up, inventory.json has each file's sha256.
      expect(await readFile(join(dir, 'inventory.txt'), 'utf8')).toMatch(/^Files: 3 files, \d+ bytes, in this snapshot's directories/m);
      const manifest = JSON.parse(await readFile(join(t.onDisk('app'), `${snap}.manifest.json`), 'utf8'));
      expect(manifest).toMatchObject({ format: 'ferry/1', job: 'app', archive: snap, layout: 'tree', encrypted: false });
      expect(await readlink(join(t.onDisk('app'), 'app-latest'))).toBe(snap);
      // Recovery by hand: the latest link leads to the files.
      expect(await readFile(join(t.onDisk('app'), 'app-latest', 'data', 'sub', 'b.txt'), 'utf8')).toBe('version 1\n');
    });

    it('a second run hard-links unchanged files to the previous snapshot and copies a changed file, whose old version stays', async () => {
      // Same size, new bytes and mtime: must not be linked to the old version.
      await writeFile(join(src, 'sub', 'b.txt'), 'version 2\n');
      await utimes(join(src, 'sub', 'b.txt'), new Date('2026-01-02T00:00:00Z'), new Date('2026-01-02T00:00:00Z'));
      const r = await run(['run', '--json']);
      expect(r.code, r.stderr).toBe(0);
      // The target's bytes are what was copied: the changed file alone.
      expect(JSON.parse(r.stdout).targets[0].bytes).toBe('version 2\n'.length);
      const [first, second] = snapshots('app').map((s) => join(t.onDisk('app'), s));
      expect(second).toBeDefined();
      const ino = async (p: string) => (await lstat(p)).ino;
      expect(await ino(join(second!, 'data', 'a.txt'))).toBe(await ino(join(first!, 'data', 'a.txt')));
      expect(await ino(join(second!, 'data', 'run.sh'))).toBe(await ino(join(first!, 'data', 'run.sh')));
      expect(await ino(join(second!, 'data', 'sub', 'b.txt'))).not.toBe(await ino(join(first!, 'data', 'sub', 'b.txt')));
      expect(await readFile(join(second!, 'data', 'sub', 'b.txt'), 'utf8')).toBe('version 2\n');
      expect(await readFile(join(first!, 'data', 'sub', 'b.txt'), 'utf8')).toBe('version 1\n');
      expect(await readlink(join(t.onDisk('app'), 'app-latest'))).toBe(snapshots('app')[1]);
    });

    it('list and status show the snapshots like archives, and verify checks every file against the inventory', async () => {
      const list = JSON.parse((await run(['list', '--json'])).stdout);
      expect(list.targets[0].archives.map((a: { name: string }) => a.name)).toEqual(snapshots('app'));
      const status = await run(['status', '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(snapshots('app')[1]);
      const v = await run(['verify', 'latest']);
      expect(v.code, v.stderr + v.stdout).toBe(0);
      expect(v.stdout).toMatch(/ok .* \(5 files\)/);
    });

    it('restore of a single file from an older snapshot gives back its old bytes and nothing else', async () => {
      const out = join(ws.dir, 'restored-one');
      const r = await run(['restore', snapshots('app')[0]!, '--only', 'data/sub/b.txt', '--to', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(join(out, 'data', 'sub', 'b.txt'), 'utf8')).toBe('version 1\n');
      expect(readdirSync(join(out, 'data'))).toEqual(['sub']);
    });

    it('restore --at picks the snapshot of that time, and a whole restore gives back modes and symlinks', async () => {
      const [first] = snapshots('app');
      const manifest = JSON.parse(await readFile(join(t.onDisk('app'), `${first}.manifest.json`), 'utf8'));
      const out = join(ws.dir, 'restored-at');
      const r = await run(['restore', '--at', manifest.created, '--to', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(join(out, 'data', 'sub', 'b.txt'), 'utf8')).toBe('version 1\n');
      expect(await readlink(join(out, 'data', 'link'))).toBe('a.txt');
      expect((await stat(join(out, 'data', 'run.sh'))).mode & 0o7777).toBe(0o750);
    });

    it('pull of a snapshot writes a standard tar.gz of it', async () => {
      const out = join(ws.dir, 'pulled.tar.gz');
      const r = await run(['pull', 'latest', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const names = execFileSync('tar', ['-tzf', out], { encoding: 'utf8' }).trim().split('\n');
      expect(names).toEqual(['data/', 'data/a.txt', 'data/empty/', 'data/link', 'data/run.sh', 'data/sub/', 'data/sub/b.txt', 'inventory.json', 'inventory.txt']);
    });

    it("verify, restore and pull report the snapshot's file bytes as read and stored, as its manifest lists them", async () => {
      const latest = snapshots('app').at(-1)!;
      const manifest = JSON.parse(await readFile(join(t.onDisk('app'), `${latest}.manifest.json`), 'utf8'));
      expect(manifest.size).toBe(30);
      const summaries = [
        await run(['--json', 'verify', 'latest']),
        await run(['--json', 'restore', 'latest', '--to', join(ws.dir, 'restored-counted')]),
        await run(['--json', 'pull', 'latest', '--out', join(ws.dir, 'pulled-counted.tar.gz')]),
      ].map((r) => {
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout).summary;
      });
      for (const summary of summaries) expect(summary).toMatchObject({ files: 3, bytes_read: 30, bytes_stored: 30, bytes_content: 30 });
    });

    it('restore latest --source data --to DIR gives back exactly the source tree: bytes, modes, mtimes, symlinks, empty directories', async () => {
      const out = join(ws.dir, 'restored-source');
      const r = await run(['restore', 'latest', '--source', 'data', '--to', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(out)).toEqual(['data']);
      expect(listTree(join(out, 'data'), { mtimes: true })).toEqual(listTree(src, { mtimes: true }));
      const linkTime = async (root: string) => Math.floor((await lstat(join(root, 'link'))).mtimeMs / 1000);
      expect(await linkTime(join(out, 'data'))).toBe(await linkTime(src));
    });

    it('restore --list-sources names the snapshot and its source with kind, file count, bytes and origin', async () => {
      const latest = snapshots('app').at(-1)!;
      const human = await run(['restore', '--list-sources']);
      expect(human.code, human.stderr).toBe(0);
      const lines = human.stdout.trim().split('\n');
      expect(lines[0]).toBe(`${latest} on snap`);
      expect(lines[1]).toMatch(/^AS\s+KIND\s+FILES\s+SIZE\s+ORIGIN$/);
      expect(lines[2]).toMatch(new RegExp(`^data\\s+path\\s+3\\s+30 B\\s+${escape(src)}$`));
      const json = await run(['--json', 'restore', snapshots('app')[0]!, '--list-sources']);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        archive: snapshots('app')[0], target: 'snap', read_from: 'inventory',
        sources: [{ as: 'data', kind: 'path', origin: src, files: 3, bytes: 30 }],
      });
    });

    it('restore latest --source data --in-place puts the source back as the snapshot holds it and moves the current data aside', async () => {
      const before = listTree(src, { mtimes: true });
      await writeFile(join(src, 'a.txt'), 'changed after the backup\n');
      await writeFile(join(src, 'new.txt'), 'new\n');
      await rm(join(src, 'sub', 'b.txt'));
      const changed = listTree(src);
      const r = await run(['restore', 'latest', '--source', 'data', '--in-place']);
      expect(r.code, r.stderr).toBe(0);
      const previous = /the previous data was moved to (\S+)$/m.exec(r.stdout)?.[1];
      expect(previous, r.stdout).toMatch(new RegExp(`^${escape(src)}\\.pre-restore-\\d{8}T\\d{6}Z$`));
      try {
        expect(listTree(src, { mtimes: true })).toEqual(before);
        expect(listTree(previous!)).toEqual(changed);
      } finally {
        // Later cases back up `src` again: leave the workspace as it was.
        await rm(previous!, { recursive: true, force: true });
      }
    });

    it('verify names a file whose bytes no longer match the inventory', async () => {
      const latest = join(t.onDisk('app'), snapshots('app').at(-1)!, 'data', 'sub', 'b.txt');
      await writeFile(latest, 'tampered!\n');
      const v = await run(['verify', 'latest']);
      expect(v.code).not.toBe(0);
      expect(v.stderr + v.stdout).toMatch(/data\/sub\/b\.txt/);
      await writeFile(latest, 'version 2\n');
    });

    it('a file whose bytes changed behind an unchanged size and mtime is linked, as rsync --link-dest does, and listed with the sha256 of what the snapshot holds', async () => {
      const file = join(src, 'sub', 'b.txt');
      const before = { text: await readFile(file, 'utf8'), st: await stat(file) };
      await config('quick');
      expect((await run(['run'])).code).toBe(0);
      try {
        await writeFile(file, before.text.replace(/.$/s, '#'));
        await utimes(file, before.st.atime, before.st.mtime);
        const r = await run(['run']);
        expect(r.code, r.stderr).toBe(0);
        const [first, second] = snapshots('quick').map((s) => join(t.onDisk('quick'), s));
        expect((await lstat(join(second!, 'data', 'sub', 'b.txt'))).ino).toBe((await lstat(join(first!, 'data', 'sub', 'b.txt'))).ino);
        const v = await run(['verify', 'latest']);
        expect(v.code, v.stderr + v.stdout).toBe(0);
      } finally {
        await writeFile(file, before.text);
        await utimes(file, before.st.atime, before.st.mtime);
      }
    });

    it('with verify_unchanged: hash, a file whose bytes changed behind an unchanged size and mtime is copied, and the others are still linked', async () => {
      const file = join(src, 'sub', 'b.txt');
      const before = { text: await readFile(file, 'utf8'), st: await stat(file) };
      await config('hashed', { verify_unchanged: 'hash' });
      expect((await run(['run'])).code).toBe(0);
      const changed = before.text.replace(/.$/s, '#');
      try {
        await writeFile(file, changed);
        await utimes(file, before.st.atime, before.st.mtime);
        const r = await run(['run']);
        expect(r.code, r.stderr).toBe(0);
        const [first, second] = snapshots('hashed').map((s) => join(t.onDisk('hashed'), s));
        const ino = async (dir: string, ...p: string[]) => (await lstat(join(dir, 'data', ...p))).ino;
        expect(await ino(second!, 'sub', 'b.txt')).not.toBe(await ino(first!, 'sub', 'b.txt'));
        expect(await readFile(join(second!, 'data', 'sub', 'b.txt'), 'utf8')).toBe(changed);
        expect(await ino(second!, 'a.txt')).toBe(await ino(first!, 'a.txt'));
        const v = await run(['verify', 'latest']);
        expect(v.code, v.stderr + v.stdout).toBe(0);
      } finally {
        await writeFile(file, before.text);
        await utimes(file, before.st.atime, before.st.mtime);
      }
    });

    it('prune of the oldest snapshot leaves a newer one that shares its inodes whole', async () => {
      await config('pruned', { keep: 2 });
      for (let i = 0; i < 3; i++) {
        const r = await run(['run']);
        expect(r.code, r.stderr).toBe(0);
      }
      const kept = snapshots('pruned');
      expect(kept).toHaveLength(2);
      const root = t.onDisk('pruned');
      const names = readdirSync(root);
      expect(names.filter((n) => n.endsWith('.manifest.json')).sort()).toEqual(kept.map((k) => `${k}.manifest.json`));
      expect(names.filter((n) => n.startsWith('.ferry-tree-'))).toEqual([]);
      const file = join(root, kept[0]!, 'data', 'a.txt');
      expect(await readFile(file, 'utf8')).toBe('unchanged\n');
      expect((await lstat(file)).nlink).toBe(2);
      const v = await run(['verify', kept[0]!]);
      expect(v.code, v.stderr).toBe(0);
    });

    it('a run killed with SIGKILL during a snapshot leaves nothing that lists as complete, and the next run cleans up and succeeds', async () => {
      const big = join(src, 'a-big.bin');
      await truncate(await writeFile(big, '').then(() => big), 96 * 1024 * 1024);
      try {
        await config('killed');
        const child = spawn(process.execPath, [FERRY, 'run'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
        const out = collect(child);
        const root = t.onDisk('killed');
        // Killed while the big file is being copied into the snapshot's temporary directory.
        await waitFor(() => {
          if (out.exited) throw new Error(`the run ended before it could be killed: ${out.stderr}`);
          if (!existsSync(root)) return false;
          return readdirSync(root).some((n) => n.startsWith('.ferry-tree-') && existsSync(join(root, n, 'data', 'a-big.bin')));
        }, { what: 'the snapshot to be in progress', interval: 5 });
        child.kill('SIGKILL');
        await waitForExit(child.pid!, 'the killed run');
        await out.done;
        const list = JSON.parse((await run(['list', '--json'])).stdout);
        expect(list.targets[0].archives).toEqual([]);
        expect(readdirSync(root).filter((n) => n.endsWith('.manifest.json'))).toEqual([]);
        const r = await run(['run']);
        expect(r.code, r.stderr).toBe(0);
        expect(readdirSync(root).filter((n) => n.startsWith('.ferry-tree-'))).toEqual([]);
        expect(snapshots('killed')).toHaveLength(1);
      } finally {
        await rm(big, { force: true });
      }
    }, 120_000);
  });
}
