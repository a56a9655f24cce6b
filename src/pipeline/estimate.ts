import type { PreparedSource } from './sources/types.js';
import { lstatSync } from 'node:fs';
import { walkSource, type WalkReport } from './walk.js';

/**
 * An upper bound for the archive size, from the same walk the tar writer
 * makes (excludes applied) plus tar and gzip overhead (gzip can grow
 * incompressible data slightly). Used for free-space checks and upload part
 * sizes, never as the real size. Entries that vanish or cannot be read are simply not counted.
 */
export function estimateSize(sources: PreparedSource[]): number {
  let bytes = 0;
  let entries = 0;
  const ignore: WalkReport = { warn: () => {}, unreadable: () => {} };
  for (const source of sources) {
    for (const entry of walkSource(source, ignore)) {
      entries++;
      if (entry.type !== 'file') continue;
      try {
        bytes += (entry.stat ?? lstatSync(entry.fsPath)).size;
      } catch {
        // Gone or unreadable: the tar writer reports it.
      }
    }
  }
  // Headers (up to 1.5 KiB per entry with pax), 0.1% + 64 KiB of gzip/age framing, 256 KiB for the inventory.
  return Math.ceil(bytes * 1.001) + entries * 1536 + 64 * 1024 + 256 * 1024;
}
