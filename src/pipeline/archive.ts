import { Readable, pipeline } from 'node:stream';
import { createParallelGzip } from './parallel-gzip.js';
import { HashStream } from '../util/hash-stream.js';
import { encryptStream, type ResolvedEncryption } from './encrypt.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryBuilder, type CommandOutput, type InventorySummary } from './inventory.js';
import type { SourceSummary } from '../storage/manifest.js';
import type { PreparedSource } from './sources/types.js';
import { tarStream, type TarWriterEvents } from './tar-writer.js';
import { IndexWriter, type IndexFile } from '../index/writer.js';
import type { IncrementalHooks } from '../incremental/tracker.js';

export interface BuildOptions {
  job: string;
  started: Date;
  sources: PreparedSource[];
  /** gzip level 1-9. */
  level: number;
  encryption?: ResolvedEncryption;
  /** Output of the inventory commands, captured before the archive starts. */
  commands: Record<string, CommandOutput>;
  /** Called as bytes are read from sources and as archive bytes are produced. */
  onProgress?(progress: { read: number; written: number; files: number }): void;
  /** Called for each entry as it goes into the archive (see `TarWriterEvents.onEntry`). */
  onEntry?: TarWriterEvents['onEntry'];
  /** With `incremental:`: change detection and dumpdirs (src/incremental/tracker.ts). */
  incremental?: IncrementalHooks;
  /** Directory for the inventory's temporary spool files (the run's staging dir); a fresh temporary directory, removed at the end, when absent. */
  spoolDir?: string;
  /** Also build the archive's index sidecar (named after `archive`) as a file in `dir`, which the caller owns and removes. */
  index?: { archive: string; dir: string };
}

export interface ArchiveResult {
  size: number;
  sha256: string;
  /** What was stored; `inventory.warnings` and `inventory.unreadable` say what was not stored as it is on disk. */
  inventory: InventorySummary;
  sources: SourceSummary[];
  /** The finished index sidecar, when one was asked for. */
  index?: IndexFile;
}

export interface BuiltArchive {
  /** The stored bytes: tar, then gzip, then age when encrypted. Read it exactly once. */
  stream: Readable;
  /** Settles once `stream` has ended (or failed). */
  result: Promise<ArchiveResult>;
}

/**
 * Builds the archive as one stream: tar (pax) → gzip → optional age, with the
 * sha256 and size of the stored bytes computed on the way. Memory use does
 * not depend on the archive size. Any failure destroys `stream` with that error.
 */
export async function buildArchive(options: BuildOptions): Promise<BuiltArchive> {
  const ownDir = options.spoolDir ? undefined : mkdtempSync(join(tmpdir(), 'ferry-inventory-'));
  const inventory = new InventoryBuilder(options.job, options.started, options.sources, options.spoolDir ?? ownDir!, options.incremental && options.index ? { heldBy: options.index.archive } : 'all');
  const cleanup = () => {
    inventory.remove();
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  };
  const index = options.index ? new IndexWriter(options.index.dir, { job: options.job, archive: options.index.archive }, options.encryption) : undefined;
  let read = 0;
  let files = 0;
  let built: InventorySummary | undefined;
  const tar = Readable.from(
    tarStream(
      options.sources,
      async () => {
        built = inventory.summary(options.commands, new Date());
        return inventory.files(built);
      },
      {
        onFile: (file, source) => { files++; inventory.addFile(file, source); },
        onWarning: (path, message) => inventory.addWarning(path, message),
        onUnreadable: (path, message) => inventory.addUnreadable(path, message),
        onExcluded: (_path, rule, source) => inventory.addExcluded(source, rule),
        onEntry: options.onEntry,
        onRead: (bytes) => { read += bytes; },
        onIndexed: index && ((entry) => index.add(entry)),
        incremental: options.incremental,
      },
    ),
    { objectMode: false, highWaterMark: 1 << 20 },
  );
  const gzip = createParallelGzip({ level: options.level });
  const hasher = new HashStream({ highWaterMark: 1 << 20 });
  const fail = (err: Error | null | undefined) => { if (err && !hasher.destroyed) hasher.destroy(err); };
  pipeline(tar, gzip, fail);
  const stored = options.encryption ? await encryptStream(gzip, options.encryption) : gzip;
  pipeline(stored, hasher, fail);
  if (options.onProgress) hasher.onBytes = (written) => options.onProgress!({ read, written, files });
  const result = new Promise<ArchiveResult>((resolve, reject) => {
    hasher.once('error', (err) => { cleanup(); void index?.remove(); reject(err); });
    hasher.once('end', () => {
      cleanup();
      if (!built) return reject(new Error('archive ended before its inventory was written'));
      const done = { size: hasher.bytes, sha256: hasher.digest(), inventory: built, sources: inventory.summaries() };
      if (!index) return resolve(done);
      index.finish().then((file) => resolve({ ...done, index: file }), (err: unknown) => {
        void index.remove();
        reject(new Error(`cannot write the index sidecar of ${options.index!.archive}: ${(err as Error).message}`, { cause: err }));
      });
    });
  });
  result.catch(() => {});
  return { stream: hasher, result };
}
