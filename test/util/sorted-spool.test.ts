import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SortedSpool } from '../../src/util/sorted-spool.js';

describe('sorting more lines than are held in memory', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-sort-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('gives the same order as an in-memory sort while holding at most one run of lines, and leaves no files behind', async () => {
    // 10,000 lines in runs of 100: more runs than are merged at once, so runs are merged into longer runs first.
    const lines = Array.from({ length: 10_000 }, (_, i) => `${((i * 7919) % 10_007).toString(36)}\t${i}`);
    const spool = new SortedSpool(dir, 'lines', 100);
    for (const line of lines) spool.add(line);
    expect([...spool.sorted()]).toEqual([...lines].sort());
    expect(spool.maxHeld).toBe(100);
    spool.remove();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a few lines are sorted in memory, without files', async () => {
    const spool = new SortedSpool(dir, 'few', 100);
    for (const line of ['b', 'c', 'a']) spool.add(line);
    expect([...spool.sorted()]).toEqual(['a', 'b', 'c']);
    expect(await readdir(dir)).toEqual([]);
    spool.remove();
  });
});
