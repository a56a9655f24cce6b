import { createHash, hash as hashOnce, type Hash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { InventorySummary } from '../pipeline/inventory.js';
import { EntryChecker } from './entry-check.js';
import { InventoryCheck, NAMED_MISMATCHES } from './inventory-check.js';
import { InventoryParser } from './inventory-stream.js';
import { display, readTarEntries } from './tar-reader.js';

export interface TarCheck {
  entries: number;
  files: number;
  bytes: number;
  /** How many files listed in inventory.json are missing or differ from the sha256 it records. */
  mismatched: number;
  /** The first of them (at most NAMED_MISMATCHES), in inventory order. */
  mismatches: string[];
  /** Entries that restore would restore with a caveat (an unparsable pax time, ...); the first NAMED_MISMATCHES. */
  warnings: { path: string; message: string }[];
  /** inventory.json without its file entries, which are checked as they stream by and never held. */
  inventory?: InventorySummary;
  /** The most file hashes held in memory at once: bounded by the spool's run size, whatever the file count. */
  maxHeldHashes: number;
}

export interface ReadTarOptions {
  /** Hash every file and compare it with the inventory (default true); false reads only inventory.json. */
  hashFiles?: boolean;
  /** Where the hashes are spooled: a temporary directory is made in it and removed at the end (default: the system's temporary directory). */
  spoolDir?: string;
  /** Hashes held in memory before a sorted run is written to the spool (tests). */
  runLines?: number;
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Reads a whole plain tar stream without writing anything, applying the
 * same entry checks as restore (so an archive restore would refuse never
 * reads as fine), hashing every file (unless `hashFiles` is false; holes of
 * sparse files hash as the zeros restore writes) and comparing it with the
 * sha256 recorded in the archive's own inventory.json, whose summary it
 * returns. Files are matched by their exact name bytes; of several files
 * stored under one name the last counts, as in a restore. Memory does not
 * grow with the file count: inventory.json is parsed as it streams by and
 * the hashes of both sides are spooled to disk (see InventoryCheck). Rejects
 * on any tar format error, an unreadable inventory.json, and with a
 * RefusedEntry on a refused entry.
 */
export async function readTar(input: Readable, options: ReadTarOptions = {}): Promise<TarCheck> {
  const hashFiles = options.hashFiles ?? true;
  const checker = new EntryChecker();
  const result: TarCheck = { entries: 0, files: 0, bytes: 0, mismatched: 0, mismatches: [], warnings: [], maxHeldHashes: 0 };
  let dir: string | undefined;
  let check: InventoryCheck | undefined;
  if (hashFiles) {
    // The input may fail while the spool directory is made, before anything
    // reads it: that error is kept on the stream and thrown below, never left
    // to surface as an unhandled 'error' event.
    const keepForLater = () => {};
    input.on('error', keepForLater);
    try {
      const parent = options.spoolDir ?? tmpdir();
      await mkdir(parent, { recursive: true });
      dir = await mkdtemp(join(parent, 'ferry-verify-'));
    } finally {
      input.off('error', keepForLater);
    }
    check = new InventoryCheck(dir, options.runLines);
  }
  try {
    if (input.errored) throw input.errored;
    for await (const entry of readTarEntries(input)) {
      const path = checker.admit(entry);
      result.entries++;
      for (const message of entry.warnings) {
        if (result.warnings.length < NAMED_MISMATCHES) result.warnings.push({ path: Buffer.from(path, 'latin1').toString('utf8'), message });
      }
      if (entry.type !== 'File' && entry.type !== 'ContiguousFile') continue;
      result.files++;
      const isInventory = path === 'inventory.json';
      if (!hashFiles && !isInventory) continue;
      if (isInventory && result.inventory) check?.restartListing();
      const parser = isInventory ? new InventoryParser(check && ((file) => check.listed(file))) : undefined;
      const whole = entry.whole();
      if (whole && !parser) {
        // A small file in one piece: hashed in one call, without a Hash object per file.
        result.bytes += entry.size;
        check!.stored(path, hashOnce('sha256', whole, 'hex'));
        continue;
      }
      const hash = hashFiles ? createHash('sha256') : undefined;
      const feed = (data: Buffer) => {
        hash?.update(data);
        try {
          parser?.write(data);
        } catch (err) {
          throw unreadableInventory(entry.path, err);
        }
      };
      let at = 0;
      if (whole) {
        feed(whole);
        at = whole.length;
      } else {
        for await (const { data, position } of entry.chunks()) {
          if (hash) at = zeros(hash, at, position);
          feed(data);
          at += data.length;
        }
      }
      if (hash) zeros(hash, at, entry.size);
      if (parser) {
        try {
          result.inventory = parser.end();
        } catch (err) {
          throw unreadableInventory(entry.path, err);
        }
      }
      result.bytes += entry.size;
      if (hash) check!.stored(path, hash.digest('hex'));
    }
    checker.finish();
    if (check && result.inventory) {
      const { count, first } = check.mismatches();
      result.mismatched = count;
      result.mismatches = first;
    }
    result.maxHeldHashes = check?.maxHeld ?? 0;
    return result;
  } finally {
    check?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** Hashes the zeros of a hole from `at` up to `until`; returns `until`. */
export function zeros(hash: Hash, at: number, until: number): number {
  for (; at < until; at += Math.min(ZEROS.length, until - at)) hash.update(ZEROS.subarray(0, Math.min(ZEROS.length, until - at)));
  return at;
}

function unreadableInventory(path: string, err: unknown): Error {
  return new Error(`the archive's ${display(path)} is not a readable inventory: ${(err as Error).message}`, { cause: err });
}
