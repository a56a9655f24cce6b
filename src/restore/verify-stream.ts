import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createHash } from 'node:crypto';
import type { StorageAdapter } from '../storage/adapter.js';
import { StorageError } from '../storage/errors.js';
import type { Manifest } from '../storage/manifest.js';

/**
 * Passes the archive bytes through, and fails at the end (before signalling
 * completion) when their size or sha256 differ from the manifest. A consumer
 * that waits for the stream to finish therefore never accepts a bad archive.
 */
export class VerifyStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  /** Called with the bytes read so far, after each chunk. */
  onBytes?: (bytes: number) => void;
  constructor(private readonly manifest: Pick<Manifest, 'archive' | 'size' | 'sha256'>, private readonly where: string) {
    super({ highWaterMark: 1 << 20 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.bytes > this.manifest.size) return done(corrupt(this.where, this.manifest, `it is longer than the ${this.manifest.size} bytes the manifest records`));
    this.onBytes?.(this.bytes);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.manifest.size) {
      return done(corrupt(this.where, this.manifest, `truncated: ${this.bytes} of ${this.manifest.size} bytes`));
    }
    const sha = this.hash.digest('hex');
    if (sha !== this.manifest.sha256) {
      return done(corrupt(this.where, this.manifest, `sha256 ${sha} does not match the manifest's ${this.manifest.sha256}`));
    }
    done();
  }
}

function corrupt(where: string, m: Pick<Manifest, 'archive'>, detail: string): StorageError {
  return new StorageError('CORRUPT', where, `archive ${m.archive} is damaged: ${detail}`);
}

/**
 * Reads the whole stored archive once more and checks it against the
 * manifest. Used after a restore failed part-way, to tell a damaged archive
 * (reported as CORRUPT) from any other problem (returns normally).
 */
export async function checkStoredBytes(adapter: StorageAdapter, manifest: Manifest, signal?: AbortSignal): Promise<void> {
  if (manifest.layout === 'tree') return; // a snapshot has no stored archive bytes; its files are checked against the inventory
  const check = new VerifyStream(manifest, adapter.name);
  const input: Readable = await adapter.get(manifest.archive, { signal });
  await new Promise<void>((resolve, reject) => {
    input.on('error', reject);
    check.on('error', reject);
    check.on('finish', resolve);
    input.pipe(check).resume();
  });
}
