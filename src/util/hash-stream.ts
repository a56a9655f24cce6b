import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** A pass-through that counts bytes and computes their sha256 on the way. */
export class HashStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  private result?: string;
  /** Called with the running byte count after each chunk. */
  onBytes?: (total: number) => void;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    done(null, chunk);
  }

  /** Hex sha256 of everything that passed; only valid once the stream has ended. */
  digest(): string {
    this.result ??= this.hash.digest('hex');
    return this.result;
  }
}
