import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildArchive } from '../../src/pipeline/archive.js';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import { readTar } from '../../src/restore/read-tar.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('the inventory of a large tree', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-inv-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('lists every file of every source with its sha256, and leaves no temporary files behind', async () => {
    const sources: PreparedSource[] = [];
    for (const name of ['a', 'b']) {
      await mkdir(join(dir, 'data', name, 'sub'), { recursive: true });
      for (let i = 0; i < 3000; i++) await writeFile(join(dir, 'data', name, 'sub', `f${i}.txt`), `${name}${i}`);
      sources.push({ as: name, kind: 'path', fsPath: join(dir, 'data', name), exclude: [], cleanup: async () => {} });
    }
    const spool = join(dir, 'staging');
    await mkdir(spool);
    const built = await buildArchive({ job: 'app', started: new Date(), sources, level: 1, commands: {}, spoolDir: spool });
    const gunzip = createGunzip();
    const [check] = await Promise.all([readTar(gunzip), pipeline(built.stream, gunzip)]);
    const result = await built.result;
    expect(check.mismatches).toEqual([]);
    const inv = check.inventory!;
    expect(inv.sources.map((s) => [s.as, s.files])).toEqual([['a', 3000], ['b', 3000]]);
    expect(result.sources.map((s) => s.files)).toEqual([3000, 3000]);
    expect(await readdir(spool)).toEqual([]);
    const entries = inv.sources.flatMap((s) => s.entries);
    expect(entries).toHaveLength(6000);
    expect(entries.find((e) => e.path === 'b/sub/f42.txt')?.sha256).toBe(sha('b42'));
  });
});
