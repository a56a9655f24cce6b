import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryChecker } from '../../src/restore/entry-check.js';
import { InventoryParser, type ListedFile } from '../../src/restore/inventory-stream.js';
import { readTar } from '../../src/restore/read-tar.js';
import type { TarEntry } from '../../src/restore/tar-reader.js';
import { END, file } from '../helpers/raw-tar.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const name = (i: number) => `app/d${i % 5}/f${i}.txt`;
const content = (i: number) => `file number ${i}\n`;

interface Shape {
  /** Files whose inventory entry records another sha256. */
  wrong?: number[];
  /** Extra inventory entries for files the archive does not hold. */
  unstored?: string[];
  /** Stored after the files, under the name of an earlier one. */
  again?: { name: string; data: string };
  /** The inventory lists the files last stored first. */
  reversed?: boolean;
}

/** A tar of `n` files and an inventory.json listing them, pretty-printed with one field per line as older versions wrote it. */
function archive(n: number, shape: Shape = {}): Buffer {
  const parts: Buffer[] = [];
  const entries: ListedFile[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(file(name(i), content(i)));
    entries.push({ path: name(i), size: content(i).length, sha256: shape.wrong?.includes(i) ? sha('something else') : sha(content(i)) });
  }
  if (shape.reversed) entries.reverse();
  for (const path of shape.unstored ?? []) entries.push({ path, size: 1, sha256: sha('x') });
  if (shape.again) parts.push(file(shape.again.name, shape.again.data));
  const inventory = { format: 'ferry-inventory/1', job: 'app', sources: [{ as: 'app', kind: 'path', files: n, bytes: 0, entries }], warnings: [], commands: {} };
  parts.push(file('inventory.json', JSON.stringify(inventory, null, 2)), END);
  return Buffer.concat(parts);
}

describe('list, verify and restore hold memory by directories and links, not by files', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-bounded-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
  const verify = (tar: Buffer) => readTar(Readable.from([tar]), { spoolDir: dir, runLines: 100 });

  it('verify holds the same number of file hashes in memory for 300 files as for 3,000, and still names the one that differs', async () => {
    const small = await verify(archive(300, { wrong: [123] }));
    const large = await verify(archive(3000, { wrong: [1234] }));
    expect(small.mismatches).toEqual([name(123)]);
    expect(large.mismatched).toBe(1);
    expect(large.mismatches).toEqual([name(1234)]);
    expect(large.files).toBe(3001);
    expect(large.maxHeldHashes).toBe(100);
    expect(small.maxHeldHashes).toBe(large.maxHeldHashes);
    expect(await readdir(dir)).toEqual([]);
  });

  it('an inventory that lists the files in the order they are stored is checked as it streams by, holding no hashes', async () => {
    const check = await verify(archive(3000));
    expect(check.mismatched).toBe(0);
    expect(check.maxHeldHashes).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('an inventory that lists the files in another order than they are stored checks each file against its own entry', async () => {
    expect((await verify(archive(500, { reversed: true }))).mismatched).toBe(0);
    const check = await verify(archive(500, { reversed: true, wrong: [10, 400] }));
    expect(check.mismatched).toBe(2);
    expect(check.mismatches).toEqual([name(400), name(10)]);
  });

  it('a file the inventory lists but the archive does not hold counts as differing', async () => {
    const check = await verify(archive(250, { unstored: ['app/gone.txt'] }));
    expect(check.mismatched).toBe(1);
    expect(check.mismatches).toEqual(['app/gone.txt']);
  });

  it('of two files stored under one name, the last one is checked, as it is the one restore writes', async () => {
    const replaced = await verify(archive(250, { again: { name: name(7), data: 'replaced\n' } }));
    expect(replaced.mismatches).toEqual([name(7)]);
    const restored = await verify(Buffer.concat([file(name(7), 'first\n'), archive(250)]));
    expect(restored.mismatched).toBe(0);
  });

  it('when many files differ, every one is counted and the first hundred are named in inventory order', async () => {
    const wrong = Array.from({ length: 400 }, (_, i) => 1999 - i * 5);
    const check = await verify(archive(2000, { wrong }));
    expect(check.mismatched).toBe(400);
    expect(check.mismatches).toEqual([...wrong].reverse().slice(0, 100).map(name));
  });

  it('listing reads the inventory summary and keeps none of its file entries', async () => {
    const check = await readTar(Readable.from([archive(3000)]), { hashFiles: false });
    expect(check.inventory?.sources).toEqual([{ as: 'app', kind: 'path', files: 3000, bytes: 0 }]);
    expect(check.inventory?.job).toBe('app');
    expect(check.maxHeldHashes).toBe(0);
  });

  it('a damaged inventory.json fails the check and is named', async () => {
    const tar = Buffer.concat([file('app/a.txt', 'a'), file('inventory.json', '{"format": "ferry-inventory/1", "sources": [{"entries": [{"path": '), END]);
    await expect(verify(tar)).rejects.toThrow(/"inventory\.json" is not a readable inventory/);
    await expect(verify(Buffer.concat([file('inventory.json', '[1, 2]'), END]))).rejects.toThrow(/not a JSON object/);
  });

  it('the inventory streams its entries one at a time, with the index of their source', () => {
    const seen: [string, number][] = [];
    const parser = new InventoryParser((f, source) => seen.push([f.path, source]));
    const text = JSON.stringify({ format: 'ferry-inventory/1', sources: [{ as: 'a', entries: [{ path: 'a/1' }, { path: 'a/2' }] }, { as: 'b', entries: [{ path: 'b/1' }] }] });
    for (let i = 0; i < text.length; i += 7) parser.write(Buffer.from(text.slice(i, i + 7)));
    expect(parser.end()).toEqual({ format: 'ferry-inventory/1', sources: [{ as: 'a' }, { as: 'b' }] });
    expect(seen).toEqual([['a/1', 0], ['a/2', 0], ['b/1', 1]]);
  });

  it('the entry checks shared by restore and verify remember the directories, not the files in them', () => {
    const remembered = (files: number) => {
      const checker = new EntryChecker();
      for (let i = 0; i < files; i++) checker.admit({ path: name(i), type: 'File', warnings: [] } as unknown as TarEntry);
      checker.finish();
      return checker.remembered;
    };
    expect(remembered(5000)).toBe(remembered(50));
    expect(remembered(50)).toBe(7); // "", app and app/d0 ... app/d4
  });
});
