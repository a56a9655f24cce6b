import { SortedSpool } from '../util/sorted-spool.js';
import { SpoolFile } from '../util/spool-file.js';
import { normalisePath } from './entry-check.js';
import type { ListedFile } from './inventory-stream.js';

/** How many differing files are named; the rest are only counted. */
export const NAMED_MISMATCHES = 100;

const SHA256 = /^[0-9a-f]{64}$/;
/** Read buffer for the stored files while the inventory is compared with them in order. */
const READ_BLOCK = 64 * 1024;

/**
 * Matches the sha256 of every file read from an archive against the one its
 * inventory lists, in bounded memory whatever the file count. As restore
 * does, the last of several stored files with one name counts. The
 * inventory comes after the files it lists, so both sides are spooled to
 * files in `dir` (one line per file, keyed by the exact name bytes).
 *
 * Ferry lists files in the order it stores them, so the inventory is first
 * compared with the stored files in order as it streams by: when every
 * listed file is the next stored one with the same hash and no name was
 * stored twice, nothing differs and nothing needs sorting. Any other
 * archive (another order, a name stored twice, a hash that differs, a file
 * not stored) is checked by sorting both spools and merge-joining them.
 * `remove()` deletes the spool files.
 */
export class InventoryCheck {
  private readonly storedSpool: SpoolFile;
  private listedSpool: SpoolFile;
  private listings = 0;
  private readonly order = new WalkOrder();
  private readonly names = new NameFilter();
  /** A name may have been stored twice (the filter can say so wrongly, never miss it). */
  private storedTwice = false;
  /** Every file listed so far was the next stored file, with the same hash. */
  private inOrder = true;
  private next: Iterator<string> | undefined;
  private maxHeldLines = 0;

  /** `archive`: the name of the archive being read; inventory entries held by another archive of its chain are not looked for in it. */
  constructor(private readonly dir: string, private readonly runLines?: number, private readonly archive?: string) {
    this.storedSpool = new SpoolFile(`${dir}/stored`);
    this.listedSpool = new SpoolFile(`${dir}/listed`);
  }

  /** The most file lines held in memory at once, by either side (none when the inventory matched in order). */
  get maxHeld(): number {
    return this.maxHeldLines;
  }

  /** A file read from the archive: its normalised path (binary string) and the sha256 of its content. */
  stored(path: string, sha256: string): void {
    // Every name goes into the filter; it is asked only about names stored out of the walk's order.
    const maybeSeen = this.names.add(path);
    if (!this.order.isNew(path) && maybeSeen) this.storedTwice = true;
    this.storedSpool.append(`${key(path)}\t${sha256}\n`);
  }

  /** A file entry of the inventory, in inventory order. */
  listed(file: ListedFile): void {
    if (this.archive !== undefined && typeof file.archive === 'string' && file.archive !== this.archive) return;
    const text = typeof file.path === 'string' ? file.path : '(an entry without a path)';
    const name = typeof file.path_b64 === 'string' ? Buffer.from(file.path_b64, 'base64').toString('latin1') : Buffer.from(text, 'utf8').toString('latin1');
    const sha = typeof file.sha256 === 'string' && SHA256.test(file.sha256) ? file.sha256 : '-';
    const k = key(normalisePath(name));
    this.listedSpool.append(`${k}\t${sha}\t${Buffer.from(text).toString('base64')}\n`);
    if (!this.inOrder) return;
    if (!this.next) {
      this.storedSpool.flush();
      this.next = this.storedSpool.lines(READ_BLOCK);
    }
    const stored = this.next.next();
    if (stored.done || stored.value !== `${k}\t${sha}`) this.inOrder = false;
  }

  /** Forgets the inventory entries listed so far (the archive holds another inventory.json, and the last one counts). */
  restartListing(): void {
    this.listedSpool.remove();
    this.listedSpool = new SpoolFile(`${this.dir}/listed${++this.listings}`);
    this.inOrder = true;
    this.next = undefined;
  }

  /** Listed files that were not stored, or whose content differs: how many, and the first NAMED_MISMATCHES in inventory order. */
  mismatches(): { count: number; first: string[] } {
    if (this.inOrder && !this.storedTwice) return { count: 0, first: [] };
    this.storedSpool.flush();
    this.listedSpool.flush();
    const storedSorted = this.sortedCopy(this.storedSpool, 'stored-sorted');
    const listedSorted = this.sortedCopy(this.listedSpool, 'listed-sorted');
    try {
      this.maxHeldLines = Math.max(storedSorted.maxHeld, listedSorted.maxHeld);
      return merged(lastOfEach(storedSorted.sorted()), listedSorted.sorted());
    } finally {
      storedSorted.remove();
      listedSorted.remove();
    }
  }

  remove(): void {
    this.storedSpool.remove();
    this.listedSpool.remove();
  }

  /** The lines of an in-order spool with their position after the key (`key\tseq\t…`), to be read back sorted. */
  private sortedCopy(spool: SpoolFile, name: string): SortedSpool {
    const sorted = new SortedSpool(this.dir, name, this.runLines);
    let n = 0;
    for (const line of spool.lines(READ_BLOCK)) {
      const tab = line.indexOf('\t');
      sorted.add(`${line.slice(0, tab)}\t${seq(n++)}${line.slice(tab)}`);
    }
    return sorted;
  }
}

/** Merge-joins the sorted listed lines with the last stored hash of each name. */
function merged(stored: Generator<{ key: string; sha: string }>, listed: Iterable<string>): { count: number; first: string[] } {
  let count = 0;
  let first: { at: string; path: string }[] = [];
  let current = stored.next().value;
  for (const line of listed) {
    const [k, at, sha, name] = line.split('\t') as [string, string, string, string];
    while (current && current.key < k) current = stored.next().value;
    if (current?.key === k && current.sha === sha) continue;
    count++;
    first.push({ at, path: Buffer.from(name, 'base64').toString('utf8') });
    if (first.length >= 2 * NAMED_MISMATCHES) first = earliest(first);
  }
  return { count, first: earliest(first).map((m) => m.path) };
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

/** Top-level names remembered by WalkOrder; past this many, its answer is "not sure". */
const MAX_TOPS = 4096;

/**
 * Tells, without remembering the names, that a stored name is new while the
 * archive stores them in the order Ferry's walk does: depth first, each
 * directory's entries byte-sorted, so within one top-level name every path
 * comes after the one before it, comparing segment by segment, and sources
 * (and the trailing inventory files) each have a top-level name of their
 * own. While that holds every name is different from all before it. Once it
 * does not (a path out of order, a top-level name again, too many of them),
 * `isNew` is false for the rest of the archive and the name filter decides.
 */
class WalkOrder {
  private previous: string | undefined;
  private previousTop = '';
  private readonly tops = new Set<string>();
  private broken = false;

  isNew(path: string): boolean {
    if (this.broken) return false;
    const slash = path.indexOf('/');
    const top = slash === -1 ? path : path.slice(0, slash);
    const previous = this.previous;
    this.previous = path;
    if (previous !== undefined && top === this.previousTop) {
      if (!segmentsAfter(path, previous)) this.broken = true;
    } else if (this.tops.has(top) || this.tops.size >= MAX_TOPS) {
      this.broken = true;
    } else {
      this.tops.add(top);
      this.previousTop = top;
    }
    if (this.broken) this.tops.clear();
    return !this.broken;
  }
}

/** Whether `a` sorts after `b` comparing path segments byte by byte (binary strings): a parent before its contents, "a/x" before "a.txt". */
function segmentsAfter(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return false;
    if (y === 0x2f) return true;
    return x > y;
  }
  return a.length > b.length;
}

/** Bits of the name filter: 1 MiB, whatever the file count. */
const FILTER_BITS = 1 << 23;
const PROBES = 4;

/**
 * A Bloom filter of the stored names, of fixed size: `add` says whether the
 * name may have been added before. It never misses a name stored twice; it
 * may wrongly say so (more often the more names there are, nearly always
 * past a few hundred thousand), which only sends the check to the sorted
 * merge.
 */
class NameFilter {
  private bits: Uint32Array | undefined;

  add(name: string): boolean {
    const bits = (this.bits ??= new Uint32Array(FILTER_BITS / 32));
    // Two 32-bit multiplicative (FNV-style) hashes of the name; the probes are h1 + i * h2.
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ 0x5bd1e995;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h2 = (h2 ^ (h2 >>> 15)) | 1;
    let seen = true;
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & (FILTER_BITS - 1);
      const word = bit >>> 5;
      const mask = 1 << (bit & 31);
      if ((bits[word]! & mask) === 0) {
        seen = false;
        bits[word]! |= mask;
      }
    }
    return seen;
  }
}
