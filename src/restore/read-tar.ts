import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import type { Inventory } from '../pipeline/inventory.js';

export interface TarCheck {
  entries: number;
  files: number;
  bytes: number;
  /** Files whose content differs from the sha256 recorded in inventory.json. */
  mismatches: string[];
  inventory?: Inventory;
}

/**
 * Reads a whole plain tar stream without writing anything, hashing every
 * file (unless `hashFiles` is false) and comparing it with the sha256
 * recorded in the archive's own inventory.json, which it also returns.
 * Rejects on any tar format error.
 */
export async function readTar(input: Readable, options: { hashFiles?: boolean } = {}): Promise<TarCheck> {
  const hashFiles = options.hashFiles ?? true;
  const hashes = new Map<string, string>();
  const result: TarCheck = { entries: 0, files: 0, bytes: 0, mismatches: [] };
  let inventoryText = '';
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      result.entries++;
      if (entry.type !== 'File' && entry.type !== 'OldFile') return entry.resume();
      result.files++;
      if (!hashFiles && entry.path !== 'inventory.json') return entry.resume();
      const hash = createHash('sha256');
      const isInventory = entry.path === 'inventory.json';
      entry.on('data', (c: Buffer) => {
        result.bytes += c.length;
        hash.update(c);
        if (isInventory) inventoryText += c.toString('utf8');
      });
      entry.on('end', () => hashes.set(entry.path, hash.digest('hex')));
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    input.on('error', reject);
    parser.on('end', resolve);
    input.pipe(parser);
  });
  if (inventoryText) {
    result.inventory = JSON.parse(inventoryText) as Inventory;
    const sources = hashFiles ? result.inventory.sources : [];
    for (const s of sources) {
      for (const f of s.entries) if (hashes.get(f.path) !== f.sha256) result.mismatches.push(f.path);
    }
  }
  return result;
}
