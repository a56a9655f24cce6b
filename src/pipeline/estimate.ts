import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreparedSource } from './sources/types.js';

/**
 * An upper bound for the archive size, from the sources' sizes on disk plus
 * tar and gzip overhead (gzip can grow incompressible data slightly). Used
 * for free-space checks and upload part sizes, never as the real size.
 */
export async function estimateSize(sources: PreparedSource[]): Promise<number> {
  let bytes = 0;
  let entries = 0;
  async function visit(path: string): Promise<void> {
    let st;
    try {
      st = await lstat(path);
    } catch {
      return;
    }
    entries++;
    if (st.isFile()) bytes += st.size;
    if (!st.isDirectory()) return;
    const names = await readdir(path).catch(() => [] as string[]);
    for (const n of names) await visit(join(path, n));
  }
  for (const s of sources) await visit(s.fsPath);
  // 1 KiB of headers per entry, 0.1% + 64 KiB gzip/age framing overhead, and 256 KiB for the inventory.
  return Math.ceil(bytes * 1.001) + entries * 1024 + 64 * 1024 + entries * 200 + 256 * 1024;
}
