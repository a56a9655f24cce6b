import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Inventory } from '../pipeline/inventory.js';
import { EntryChecker, normalisePath } from './entry-check.js';
import { readTarEntries } from './tar-reader.js';

export interface TarCheck {
  entries: number;
  files: number;
  bytes: number;
  /** Files whose content differs from the sha256 recorded in inventory.json. */
  mismatches: string[];
  /** Entries that restore would restore with a caveat (an unparsable pax time, ...). */
  warnings: { path: string; message: string }[];
  inventory?: Inventory;
}

/** An inventory file entry; `path_b64` holds the exact bytes of a name that is not valid UTF-8 (`path` is then only for display). */
interface InventoryFile {
  path: string;
  path_b64?: string;
  sha256: string;
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Reads a whole plain tar stream without writing anything, applying the
 * same entry checks as restore (so an archive restore would refuse never
 * reads as fine), hashing every file (unless `hashFiles` is false; holes of
 * sparse files hash as the zeros restore writes) and comparing it with the
 * sha256 recorded in the archive's own inventory.json, which it also
 * returns. Files are matched by their exact name bytes. Rejects on any tar
 * format error and with a RefusedEntry on a refused entry.
 */
export async function readTar(input: Readable, options: { hashFiles?: boolean } = {}): Promise<TarCheck> {
  const hashFiles = options.hashFiles ?? true;
  const checker = new EntryChecker();
  const hashes = new Map<string, string>();
  const result: TarCheck = { entries: 0, files: 0, bytes: 0, mismatches: [], warnings: [] };
  const inventoryParts: Buffer[] = [];
  for await (const entry of readTarEntries(input)) {
    const path = checker.admit(entry);
    result.entries++;
    for (const message of entry.warnings) result.warnings.push({ path: Buffer.from(path, 'latin1').toString('utf8'), message });
    if (entry.type !== 'File' && entry.type !== 'ContiguousFile') continue;
    result.files++;
    const isInventory = path === 'inventory.json';
    if (!hashFiles && !isInventory) continue;
    const hash = createHash('sha256');
    let at = 0;
    const zeros = (until: number) => {
      for (; at < until; at += Math.min(ZEROS.length, until - at)) hash.update(ZEROS.subarray(0, Math.min(ZEROS.length, until - at)));
    };
    for await (const { data, position } of entry.chunks()) {
      zeros(position);
      hash.update(data);
      at += data.length;
      if (isInventory) inventoryParts.push(Buffer.from(data));
    }
    zeros(entry.size);
    result.bytes += entry.size;
    hashes.set(path, hash.digest('hex'));
  }
  checker.finish();
  if (inventoryParts.length) {
    result.inventory = JSON.parse(Buffer.concat(inventoryParts).toString('utf8')) as Inventory;
    const sources = hashFiles ? result.inventory.sources : [];
    for (const s of sources) {
      for (const f of s.entries as InventoryFile[]) {
        const key = normalisePath(Buffer.from(f.path_b64 ?? f.path, f.path_b64 === undefined ? 'utf8' : 'base64').toString('latin1'));
        if (hashes.get(key) !== f.sha256) result.mismatches.push(f.path);
      }
    }
  }
  return result;
}
