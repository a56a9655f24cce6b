import { SortedSpool } from '../util/sorted-spool.js';
import { normalisePath } from './entry-check.js';
import type { ListedFile } from './inventory-stream.js';

/** How many differing files are named; the rest are only counted. */
export const NAMED_MISMATCHES = 100;

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Matches the sha256 of every file read from an archive against the one its
 * inventory lists, in bounded memory whatever the file count: both sides go
 * to sorted spools in `dir` (one line per file, keyed by the exact name
 * bytes) and are merge-joined at the end. The inventory comes after the
 * files it lists, so neither side can be checked as it streams by. As
 * restore does, the last of several stored files with one name counts.
 * `remove()` deletes the spool files.
 */
export class InventoryCheck {
  private readonly storedSpool: SortedSpool;
  private listedSpool: SortedSpool;
  private storedCount = 0;
  private listedCount = 0;

  /** `archive`: the name of the archive being read; inventory entries held by another archive of its chain are not looked for in it. */
  constructor(private readonly dir: string, private readonly runLines?: number, private readonly archive?: string) {
    this.storedSpool = new SortedSpool(dir, 'stored', runLines);
    this.listedSpool = new SortedSpool(dir, 'listed', runLines);
  }

  /** The most file lines held in memory at once, by either side. */
  get maxHeld(): number {
    return Math.max(this.storedSpool.maxHeld, this.listedSpool.maxHeld);
  }

  /** A file read from the archive: its normalised path (binary string) and the sha256 of its content. */
  stored(path: string, sha256: string): void {
    this.storedSpool.add(`${key(path)}\t${seq(this.storedCount++)}\t${sha256}`);
  }

  /** A file entry of the inventory, in inventory order. */
  listed(file: ListedFile): void {
    if (this.archive !== undefined && typeof file.archive === 'string' && file.archive !== this.archive) return;
    const text = typeof file.path === 'string' ? file.path : '(an entry without a path)';
    const name = typeof file.path_b64 === 'string' ? Buffer.from(file.path_b64, 'base64').toString('latin1') : Buffer.from(text, 'utf8').toString('latin1');
    const sha = typeof file.sha256 === 'string' && SHA256.test(file.sha256) ? file.sha256 : '-';
    this.listedSpool.add(`${key(normalisePath(name))}\t${seq(this.listedCount++)}\t${sha}\t${Buffer.from(text).toString('base64')}`);
  }

  /** Forgets the inventory entries listed so far (the archive holds another inventory.json, and the last one counts). */
  restartListing(): void {
    this.listedSpool.remove();
    this.listedSpool = new SortedSpool(this.dir, `listed${this.listedCount}`, this.runLines);
    this.listedCount = 0;
  }

  /** Listed files that were not stored, or whose content differs: how many, and the first NAMED_MISMATCHES in inventory order. */
  mismatches(): { count: number; first: string[] } {
    let count = 0;
    let first: { at: string; path: string }[] = [];
    const stored = lastOfEach(this.storedSpool.sorted());
    let current = stored.next().value;
    for (const line of this.listedSpool.sorted()) {
      const [k, at, sha, name] = line.split('\t') as [string, string, string, string];
      while (current && current.key < k) current = stored.next().value;
      if (current?.key === k && current.sha === sha) continue;
      count++;
      first.push({ at, path: Buffer.from(name, 'base64').toString('utf8') });
      if (first.length >= 2 * NAMED_MISMATCHES) first = earliest(first);
    }
    return { count, first: earliest(first).map((m) => m.path) };
  }

  remove(): void {
    this.storedSpool.remove();
    this.listedSpool.remove();
  }
}

/** The stored names in sorted order, each once, with the hash of the last file stored under it. */
function* lastOfEach(lines: Iterable<string>): Generator<{ key: string; sha: string }> {
  let prev: { key: string; sha: string } | undefined;
  for (const line of lines) {
    const [k, , sha] = line.split('\t') as [string, string, string];
    if (prev && prev.key !== k) yield prev;
    prev = { key: k, sha };
  }
  if (prev) yield prev;
}

function earliest(list: { at: string; path: string }[]): { at: string; path: string }[] {
  return list.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).slice(0, NAMED_MISMATCHES);
}

/** A name (binary string) as a spool key: base64 sorts the same on both sides and holds no tab or newline. */
function key(path: string): string {
  return Buffer.from(path, 'latin1').toString('base64');
}

/** A sequence number that sorts as text in numeric order. */
function seq(n: number): string {
  return n.toString(36).padStart(9, '0');
}
