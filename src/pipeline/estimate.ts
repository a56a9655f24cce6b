import type { PreparedSource } from './sources/types.js';
import { walkSource } from './walk.js';

/**
 * An upper bound for the archive size, from the same walk the tar writer
 * makes (excludes applied) plus tar and gzip overhead (gzip can grow
 * incompressible data slightly). Used for free-space checks and upload part
 * sizes, never as the real size. Entries that vanish are simply not counted.
 */
export function estimateSize(sources: PreparedSource[]): number {
  let bytes = 0;
  let entries = 0;
  const ignore = () => {};
  for (const source of sources) {
    for (const entry of walkSource(source, ignore)) {
      entries++;
      if (entry.type === 'file') bytes += entry.stat.size;
    }
  }
  // Headers (up to 1.5 KiB per entry with pax), 0.1% + 64 KiB of gzip/age framing, 256 KiB for the inventory.
  return Math.ceil(bytes * 1.001) + entries * 1536 + 64 * 1024 + 256 * 1024;
}
