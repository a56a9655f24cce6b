import { lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from '../helpers/cli.js';
import { listTree } from '../helpers/tree-listing.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';

const SNAPSHOT = /^app-\d{8}T\d{6}Z$/;
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
/** Names that are not valid UTF-8: Latin-1 é, a directory with 0xff 0xfe, a lone continuation byte, a symlink, and a symlink pointing at such a name. */
const FILE = bytes('caf', [0xe9], '.txt');
const DIR = bytes('d', [0xff, 0xfe]);
const INNER = bytes('x', [0x80]);
const LINK = bytes('l', [0xe9]);
const under = (root: string, ...names: Buffer[]) => Buffer.concat([Buffer.from(root), ...names.flatMap((n) => [Buffer.from('/'), n])]);

/** A source tree with names that are not valid UTF-8, built from Buffer paths. */
function makeSource(src: string): void {
  mkdirSync(src, { recursive: true });
  writeFileSync(under(src, FILE), 'latin-1 name\n');
  mkdirSync(under(src, DIR));
  writeFileSync(under(src, DIR, INNER), 'inner\n');
  writeFileSync(join(src, 'ok.txt'), 'plain\n');
  symlinkSync('ok.txt', under(src, LINK));
  symlinkSync(FILE, join(src, 'to-latin1'));
}

interface Where {
  target: Record<string, unknown>;
  /** The target's directory as this machine sees it. */
  onDisk: string;
}

function keepsRawNames(label: string, setup: () => Promise<Where>, cleanup: () => Promise<void>): void {
  describe(`names that are not valid UTF-8 on ${label}`, () => {
    let ws: Workspace;
    let where: Where;
    let src: string;
    const snapshots = () => readdirSync(where.onDisk).filter((n) => SNAPSHOT.test(n)).sort();

    beforeAll(async () => {
      where = await setup();
      ws = await workspace();
      src = join(ws.dir, 'src');
      makeSource(src);
      await ws.writeConfig({ job: 'app', state_dir: './state', sources: [{ path: src, as: 'data' }], targets: { snap: { ...where.target, keep: 7, format: 'tree' } } });
      for (let i = 0; i < 2; i++) {
        const r = await ws.run(['run']);
        expect(r.code, r.stderr).toBe(0);
      }
    }, 120_000);
    afterAll(async () => {
      await ws?.cleanup();
      await cleanup();
    }, 60_000);

    it('each snapshot stores the names with their exact bytes, and the second run hard-links them to the first', () => {
      const [first, second] = snapshots().map((s) => join(where.onDisk, s, 'data'));
      expect(second).toBeDefined();
      for (const dir of [first!, second!]) {
        expect(readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)).toEqual([FILE, DIR, LINK, Buffer.from('ok.txt'), Buffer.from('to-latin1')].sort(Buffer.compare));
        expect(readlinkSync(join(dir, 'to-latin1'), 'buffer')).toEqual(FILE);
        expect(readdirSync(under(dir, DIR), { encoding: 'buffer' })).toEqual([INNER]);
      }
      expect(listTree(second!)).toEqual(listTree(src));
      expect(lstatSync(under(second!, FILE)).ino).toBe(lstatSync(under(first!, FILE)).ino);
      expect(lstatSync(under(second!, DIR, INNER)).ino).toBe(lstatSync(under(first!, DIR, INNER)).ino);
    });

    it('the inventory lists them with path_b64 holding their bytes', async () => {
      const inventory = JSON.parse(await readFile(join(where.onDisk, snapshots()[1]!, 'inventory.json'), 'utf8'));
      const raw = inventory.sources[0].entries.filter((e: { path_b64?: string }) => e.path_b64).map((e: { path_b64: string }) => Buffer.from(e.path_b64, 'base64'));
      expect(raw.sort(Buffer.compare)).toEqual([under('data', FILE), under('data', DIR, INNER)].sort(Buffer.compare));
    });

    it('verify passes, and restore gives back the exact bytes of every name and symlink target', async () => {
      const v = await ws.run(['verify', 'latest']);
      expect(v.code, v.stderr + v.stdout).toBe(0);
      const out = join(ws.dir, 'restored');
      const r = await ws.run(['restore', 'latest', '--to', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(listTree(join(out, 'data'), { mtimes: true })).toEqual(listTree(src, { mtimes: true }));
    });
  });
}

let root: string;
keepsRawNames('a local directory', async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-tree-raw-'));
  return { target: { type: 'local', path: root }, onDisk: root };
}, () => rm(root, { recursive: true, force: true }));

let sshd: SshdHandle | undefined;
keepsRawNames('an rsync server over ssh', async () => {
  sshd = await startSshd();
  const path = join(sshd.dataDir, 'rsync-raw');
  return {
    target: { type: 'rsync', host: sshd.host, port: sshd.port, user: sshd.user, private_key_file: sshd.privateKeyFile, known_hosts: sshd.knownHostsFile, path },
    onDisk: path,
  };
}, async () => { await sshd?.dispose(); });
