import { Readable, pipeline } from 'node:stream';
import { createParallelGzip } from './parallel-gzip.js';
import { HashStream } from '../util/hash-stream.js';
import { encryptStream, type ResolvedEncryption } from './encrypt.js';
import { InventoryBuilder, inventoryText, type CommandOutput, type Inventory, type SourceSummary } from './inventory.js';
import type { PreparedSource } from './sources/types.js';
import { tarStream } from './tar-writer.js';

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
  onProgress?(progress: { read: number; written: number }): void;
}

export interface ArchiveResult {
  size: number;
  sha256: string;
  /** What was stored; `inventory.warnings` and `inventory.unreadable` say what was not stored as it is on disk. */
  inventory: Inventory;
  sources: SourceSummary[];
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
  const inventory = new InventoryBuilder(options.job, options.started, options.sources);
  let read = 0;
  let built: Inventory | undefined;
  const tar = Readable.from(
    tarStream(
      options.sources,
      async () => {
        built = inventory.build(options.commands);
        return [
          { path: 'inventory.json', data: Buffer.from(JSON.stringify(built, null, 2) + '\n') },
          { path: 'inventory.txt', data: Buffer.from(inventoryText(built)) },
        ];
      },
      {
        onFile: (file, source) => inventory.addFile(file, source),
        onWarning: (path, message) => inventory.addWarning(path, message),
        onUnreadable: (path, message) => inventory.addUnreadable(path, message),
        onRead: (bytes) => { read += bytes; },
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
  if (options.onProgress) hasher.onBytes = (written) => options.onProgress!({ read, written });
  const result = new Promise<ArchiveResult>((resolve, reject) => {
    hasher.once('error', reject);
    hasher.once('end', () => {
      if (!built) return reject(new Error('archive ended before its inventory was written'));
      resolve({ size: hasher.bytes, sha256: hasher.digest(), inventory: built, sources: inventory.summaries() });
    });
  });
  result.catch(() => {});
  return { stream: hasher, result };
}
