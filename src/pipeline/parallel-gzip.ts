import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw) as (buf: Buffer, options: object) => Promise<Buffer>;

/** gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS = Unix (RFC 1952). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
const WINDOW = 32 * 1024;

export interface ParallelGzipOptions {
  level: number;
  /** Uncompressed bytes per block. */
  blockSize?: number;
  /** Blocks compressed at once (zlib runs them on libuv's thread pool). */
  parallel?: number;
}

/**
 * gzip with every core, the way pigz does it: the input is cut into blocks,
 * each block is deflated on the thread pool with the previous 32 KiB as its
 * dictionary, ended with a sync flush (the last one with a final block), and
 * the raw deflate pieces are joined in order into ONE standard gzip member
 * with the CRC-32 and length of the whole input. Any gzip reader decompresses
 * it. Memory is bounded by `parallel` × 2 blocks in flight.
 */
export function createParallelGzip(options: ParallelGzipOptions): Transform {
  const blockSize = options.blockSize ?? 1 << 20;
  const parallel = Math.max(1, options.parallel ?? Math.min(availableParallelism(), 4));
  const inFlight: Promise<Buffer>[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dictionary: Buffer | undefined;
  let crc = 0;
  let total = 0;

  const submit = (block: Buffer, last: boolean) => {
    crc = crc32(block, crc);
    total += block.length;
    // One output chunk per block: with zlib's default 16 KiB chunks every block would bounce between
    // the thread pool and the main thread dozens of times, and the main thread becomes the bottleneck.
    const opts: Record<string, unknown> = { level: options.level, finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH, chunkSize: block.length + (block.length >> 3) + 64 * 1024 };
    if (dictionary) opts.dictionary = dictionary;
    const job = deflateRawAsync(block, opts);
    job.catch(() => {});
    inFlight.push(job);
    dictionary = block.length >= WINDOW ? block.subarray(block.length - WINDOW) : Buffer.concat([dictionary ?? Buffer.alloc(0), block]).subarray(-WINDOW);
  };

  const stream = new Transform({
    highWaterMark: 1 << 20,
    async transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        pending.push(chunk);
        pendingBytes += chunk.length;
        while (pendingBytes >= blockSize) {
          const all = Buffer.concat(pending);
          submit(all.subarray(0, blockSize), false);
          const rest = all.subarray(blockSize);
          pending = rest.length ? [rest] : [];
          pendingBytes = rest.length;
          while (inFlight.length >= parallel * 2) this.push(await inFlight.shift()!);
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    async flush(done: TransformCallback) {
      try {
        submit(Buffer.concat(pending), true);
        pending = [];
        while (inFlight.length) this.push(await inFlight.shift()!);
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(crc >>> 0, 0);
        trailer.writeUInt32LE(total % 2 ** 32, 4);
        done(null, trailer);
      } catch (err) {
        done(err as Error);
      }
    },
  });
  stream.push(GZIP_HEADER);
  return stream;
}
