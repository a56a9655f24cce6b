import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PreparedSource } from './sources/types.js';

/**
 * An upper bound for the archive size, from the sources' sizes on disk plus
 * tar and gzip overhead (gzip can grow incompressible data slightly). Used
 * for free-space checks and upload part sizes, never as the real size.
 * Metadata calls are synchronous: a walk of a cached tree is many times
 * faster that way than through the thread pool.
 */
export function estimateSize(sources: PreparedSource[]): number {
  let bytes = 0;
  let entries = 0;
  const visit = (path: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    entries++;
    if (st.isFile()) bytes += st.size;
    if (!st.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const n of names) visit(join(path, n));
  };
  for (const s of sources) visit(s.fsPath);
  // Headers (up to 1.5 KiB per entry with pax), 0.1% + 64 KiB of gzip/age framing, 256 KiB for the inventory.
  return Math.ceil(bytes * 1.001) + entries * 1536 + 64 * 1024 + 256 * 1024;
}
