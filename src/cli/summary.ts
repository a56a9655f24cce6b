import { formatBytes } from './format.js';

/**
 * The figures every data-moving command ends with (the last line of its
 * output, `summary` in `--json`, the `summary` event of `--progress json`).
 * `bytes_read` is the command's input: source files for `run`, the stored
 * archive for `restore`, `pull` and `verify`. `bytes_stored` is the
 * archive's stored size, `bytes_content` the bytes of the files in it, and
 * `compression_ratio` the one over the other. `bytes_per_second` is input
 * bytes per second of the command's wall time.
 */
export interface Summary {
  files: number;
  bytes_read: number;
  bytes_stored: number;
  bytes_content: number;
  compression_ratio: number | null;
  seconds: number;
  bytes_per_second: number;
  /** Stored bytes of the archives prune deleted (in a dry run: would delete). */
  freed_bytes: number;
}

export function makeSummary(s: { files: number; read: number; stored: number; content: number; startedAt: number; freed?: number }): Summary {
  const seconds = Math.max((Date.now() - s.startedAt) / 1000, 0.001);
  return {
    files: s.files,
    bytes_read: s.read,
    bytes_stored: s.stored,
    bytes_content: s.content,
    compression_ratio: s.stored > 0 ? Math.round((s.content / s.stored) * 100) / 100 : null,
    seconds: Math.round(seconds * 1000) / 1000,
    bytes_per_second: Math.round(s.read / seconds),
    freed_bytes: s.freed ?? 0,
  };
}

/** The summary of a command that read an archive (restore, pull, verify): its stored bytes are the input. */
export function readSummary(counts: { bytes: number; files: number; content: number }, startedAt: number): Summary {
  return makeSummary({ files: counts.files, read: counts.bytes, stored: counts.bytes, content: counts.content, startedAt });
}

/** The one-line human form: `summary: 20 files, read 1.2 MiB, stored 400 KiB, ratio 3.07, 10.5 MiB/s over 0.1 s, prune freed 0 B`. */
export function summaryLine(s: Summary): string {
  return [
    `summary: ${s.files} files`,
    `read ${formatBytes(s.bytes_read)}`,
    `stored ${formatBytes(s.bytes_stored)}`,
    `ratio ${s.compression_ratio === null ? '-' : s.compression_ratio.toFixed(2)}`,
    `${formatBytes(s.bytes_per_second)}/s over ${s.seconds.toFixed(1)} s`,
    `prune freed ${formatBytes(s.freed_bytes)}`,
  ].join(', ');
}
