import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryCheck } from '../../src/restore/inventory-check.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Paths in the order Ferry's walk stores them: depth first, each directory's entries byte-sorted. */
function walkOrder(count: number): string[] {
  const out: string[] = [];
  for (let d = 0; out.length < count; d++) {
    const dir = `app/d${String(d).padStart(4, '0')}`;
    for (let f = 0; f < 100 && out.length < count; f++) out.push(`${dir}/f${String(f).padStart(3, '0')}.json`);
  }
  return out;
}

/** Files stored with their own path as content. */
const asStored = (paths: string[]): [string, string][] => paths.map((p) => [p, p]);

describe('checking stored files against the inventory', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-inventory-check-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  /** Stores each [path, content] and then inventory.json, lists `listed` with their paths' hashes (another for `wrong`), and checks. */
  const check = async (stored: [string, string][], listed: string[], wrong: Set<string> = new Set()) => {
    const spool = await mkdtemp(join(dir, 'c-'));
    const c = new InventoryCheck(spool, 1000);
    for (const [p, data] of stored) c.stored(p, sha(data));
    c.stored('inventory.json', sha('x'));
    for (const p of listed) c.listed({ path: p, sha256: wrong.has(p) ? sha('other') : sha(p) });
    const result = { ...c.mismatches(), held: c.maxHeld };
    c.remove();
    expect(await readdir(spool)).toEqual([]);
    return result;
  };

  it('200,000 files stored and listed in walk order are checked as they stream by, holding no hashes', async () => {
    const paths = walkOrder(200_000);
    expect(await check(asStored(paths), paths)).toEqual({ count: 0, first: [], held: 0 });
  });

  it('a file stored again after the others, in walk order, is checked by its last copy', async () => {
    const paths = walkOrder(3000);
    const { count, first } = await check([...asStored(paths), [paths[1234]!, 'replaced']], paths);
    expect({ count, first }).toEqual({ count: 1, first: [paths[1234]] });
  });

  it('a name stored again in a second run of its top-level directory is not taken for a new one', async () => {
    const paths = walkOrder(500);
    const result = await check([...asStored(paths), ['db/dump.sql', 'dump'], [paths[10]!, 'replaced']], paths);
    expect(result.first).toEqual([paths[10]]);
  });

  it('a hash that differs, a file not stored, and another order are each found, whatever the order', async () => {
    const paths = walkOrder(2000);
    expect((await check(asStored(paths), paths, new Set([paths[5]!]))).first).toEqual([paths[5]]);
    expect((await check(asStored(paths.slice(0, -1)), paths)).first).toEqual([paths.at(-1)]);
    expect((await check(asStored(paths), [...paths].reverse())).count).toBe(0);
  });
});
