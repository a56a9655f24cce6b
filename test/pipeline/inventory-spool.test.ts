import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildArchive } from '../../src/pipeline/archive.js';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import { parseInventory, type ListedFile } from '../../src/restore/inventory-stream.js';
import { readTar } from '../../src/restore/read-tar.js';
import { readTarEntries } from '../../src/restore/tar-reader.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('the inventory of a large tree', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-inv-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  /** Builds archive.tar.gz of one source per `files` entry, holding that many files at `name(i)`, each `<source><i>`. */
  const archiveOf = async (files: Record<string, number>, name: (i: number) => string) => {
    const sources: PreparedSource[] = [];
    for (const [as, count] of Object.entries(files)) {
      await mkdir(join(dir, 'data', as), { recursive: true });
      for (let i = 0; i < count; i++) {
        await mkdir(join(dir, 'data', as, name(i), '..'), { recursive: true });
        await writeFile(join(dir, 'data', as, name(i)), `${as}${i}`);
      }
      sources.push({ as, kind: 'path', fsPath: join(dir, 'data', as), exclude: [], cleanup: async () => {} });
    }
    const spool = join(dir, 'staging');
    await mkdir(spool);
    const built = await buildArchive({ job: 'app', started: new Date(), sources, level: 1, commands: {}, spoolDir: spool });
    const tarGz = join(dir, 'archive.tar.gz');
    await pipeline(built.stream, createWriteStream(tarGz));
    return { tarGz, spool, result: await built.result };
  };

  it('lists every file of every source with its sha256, and leaves no temporary files behind', async () => {
    const { tarGz, spool, result } = await archiveOf({ a: 3000, b: 3000 }, (i) => `sub/f${i}.txt`);
    const check = await readTar(createReadStream(tarGz).pipe(createGunzip()));
    expect(check.mismatched).toBe(0);
    expect(check.inventory!.sources.map((s) => [s.as, s.files])).toEqual([['a', 3000], ['b', 3000]]);
    expect(result.sources.map((s) => s.files)).toEqual([3000, 3000]);
    expect(await readdir(spool)).toEqual([]);
    const entries: ListedFile[] = [];
    for await (const entry of readTarEntries(createReadStream(tarGz).pipe(createGunzip()))) {
      if (entry.path !== 'inventory.json') continue;
      const chunks = (async function* () { for await (const c of entry.chunks()) yield c.data; })();
      await parseInventory(chunks, 'inventory.json', (f) => entries.push(f));
    }
    expect(entries).toHaveLength(6000);
    expect(entries.find((e) => e.path === 'b/sub/f42.txt')?.sha256).toBe(sha('b42'));
  });

  it('inventory.json reads the same as Ferry lays it out, compact or re-indented, in chunks split anywhere', async () => {
    const { tarGz } = await archiveOf({ a: 50, b: 50, empty: 0 }, (i) => `f${i}-ü.txt`);
    let ferry = '';
    for await (const entry of readTarEntries(createReadStream(tarGz).pipe(createGunzip()))) {
      if (entry.path === 'inventory.json') for await (const c of entry.chunks()) ferry += c.data.toString('utf8');
    }
    const read = async (text: string, step: number) => {
      const bytes = Buffer.from(text);
      const entries: [number, ListedFile][] = [];
      const chunks = (async function* () { for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step); })();
      const summary = await parseInventory(chunks, 'inventory.json', (f, source) => entries.push([source, f]));
      return { summary, entries };
    };
    const asWritten = await read(ferry, 1 << 16);
    expect(asWritten.entries.filter(([s]) => s === 1)).toHaveLength(50);
    expect(asWritten.entries.find(([, e]) => e.path === 'b/f7-ü.txt')).toEqual([1, expect.objectContaining({ sha256: sha('b7') })]);
    expect(asWritten.summary.sources.map((s) => s.as)).toEqual(['a', 'b', 'empty']);
    const doc = JSON.parse(ferry);
    for (const [text, step] of [[ferry, 7], [JSON.stringify(doc), 5], [JSON.stringify(doc, null, '\t'), 13]] as const) {
      expect(await read(text, step)).toEqual(asWritten);
    }
    await expect(read(ferry.replace('"path":"a/f1', '"path":a/f1'), 64)).rejects.toThrow(/inventory\.json is not a readable inventory/);
  });
});
