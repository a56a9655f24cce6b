import type { PreparedSource } from './sources/types.js';
import { lstatSync } from 'node:fs';
import { walkSource, type WalkReport } from './walk.js';

/** What the sources hold, by the walk the tar writer makes (excludes applied): the work a run's progress is measured against. */
export interface SourceMeasure {
  /** File content bytes. */
  bytes: number;
  files: number;
  /** Files, directories and symlinks. */
  entries: number;
}

/** Walks the sources once, counting files and their bytes. Entries that vanish or cannot be read are simply not counted. */
export function measureSources(sources: PreparedSource[]): SourceMeasure {
  const m: SourceMeasure = { bytes: 0, files: 0, entries: 0 };
  const ignore: WalkReport = { warn: () => {}, unreadable: () => {} };
  for (const source of sources) {
    for (const entry of walkSource(source, ignore)) {
      m.entries++;
      if (entry.type !== 'file') continue;
      try {
        m.bytes += (entry.stat ?? lstatSync(entry.fsPath)).size;
        m.files++;
      } catch {
        // Gone or unreadable: the tar writer reports it.
      }
    }
  }
  return m;
}

/**
 * An upper bound for the archive size of sources measured by
 * `measureSources`, with tar and gzip overhead (gzip can grow
 * incompressible data slightly). Used for free-space checks and upload part
 * sizes, never as the real size.
 */
export function archiveSizeBound(m: SourceMeasure): number {
  // Headers (up to 1.5 KiB per entry with pax), 0.1% + 64 KiB of gzip/age framing, 256 KiB for the inventory.
  return Math.ceil(m.bytes * 1.001) + m.entries * 1536 + 64 * 1024 + 256 * 1024;
}

/** `archiveSizeBound` of the sources, walking them once. */
export function estimateSize(sources: PreparedSource[]): number {
  return archiveSizeBound(measureSources(sources));
}
