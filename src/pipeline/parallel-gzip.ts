import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';
import { planRuns, storedBlocks } from './stored-blocks.js';

const deflateRawAsync = promisify(deflateRaw) as (buf: Buffer, options: object) => Promise<Buffer>;

/** gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS = Unix (RFC 1952). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
const WINDOW = 32 * 1024;

export interface ParallelGzipOptions {
  level: number;
  /** Uncompressed bytes per block (at most 1.5× this; an input chunk of half this or more is a block of its own). */
  blockSize?: number;
  /** Blocks compressed at once (zlib runs them on libuv's thread pool). */
  parallel?: number;
  /** Store 64 KiB segments that look random instead of deflating them (see stored-blocks.ts); default on unless level is 0. */
  storeRandom?: boolean;
}

/**
 * gzip with every core, the way pigz does it: the input is cut into blocks,
 * each block is deflated on the thread pool with the previous 32 KiB as its
 * dictionary, ended with a sync flush (the last one with a final block), and
 * the raw deflate pieces are joined in order into ONE standard gzip member
 * with the CRC-32 and length of the whole input. Any gzip reader decompresses
 * it. Memory is bounded by `parallel` × 2 blocks in flight.
 *
 * Unlike pigz, segments of a block that look random (media, zips, compressed
 * dumps) go out as stored deflate blocks inside the same member instead of
 * being deflated: the CPU deflate would spend on them buys nothing. Pieces
 * after them still get the previous 32 KiB as their dictionary, whatever way
 * those bytes were encoded.
 */
export function createParallelGzip(options: ParallelGzipOptions): Transform {
  const blockSize = options.blockSize ?? 1 << 20;
  const parallel = Math.max(1, options.parallel ?? Math.min(availableParallelism(), 4));
  const inFlight: Promise<Buffer[]>[] = [];
  const storeRandom = options.storeRandom ?? options.level > 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dictionary: Buffer | undefined;
  let crc = 0;
  let total = 0;

  /** The 32 KiB of input right before `start` in `block` (the deflate window a piece starting there may refer to). */
  const windowBefore = (block: Buffer, start: number): Buffer | undefined => {
    if (start >= WINDOW) return block.subarray(start - WINDOW, start);
    const w = start === 0 ? dictionary : Buffer.concat([dictionary ?? Buffer.alloc(0), block.subarray(0, start)]).subarray(-WINDOW);
    return w?.length ? w : undefined;
  };

  // Compressed size / input size of the latest deflated piece: sizes the next piece's output buffer.
  let ratio = 1;
  const deflatePiece = async (data: Buffer, window: Buffer | undefined, final: boolean): Promise<Buffer[]> => {
    // One output chunk per piece (with zlib's default 16 KiB chunks every block would bounce between the
    // thread pool and the main thread dozens of times), sized from the latest ratio rather than the worst
    // case: each piece's buffer lives until it is written out, and most pieces compress well.
    const chunkSize = Math.min(data.length + (data.length >> 3), Math.ceil(data.length * ratio * 1.25)) + 64 * 1024;
    const opts: Record<string, unknown> = { level: options.level, finishFlush: final ? constants.Z_FINISH : constants.Z_SYNC_FLUSH, chunkSize };
    if (window) opts.dictionary = window;
    const out = await deflateRawAsync(data, opts);
    ratio = out.length / Math.max(1, data.length);
    return [out];
  };

  const joinPending = (): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return all;
  };

  const submit = (block: Buffer, last: boolean) => {
    crc = crc32(block, crc);
    total += block.length;
    const runs = storeRandom ? planRuns(block) : [{ start: 0, end: block.length, stored: false }];
    const pieces = runs.map((run, i) => {
      const data = block.subarray(run.start, run.end);
      const final = last && i === runs.length - 1;
      return run.stored ? Promise.resolve(storedBlocks(data, final)) : deflatePiece(data, windowBefore(block, run.start), final);
    });
    const job = Promise.all(pieces).then((p) => p.flat());
    job.catch(() => {});
    inFlight.push(job);
    dictionary = windowBefore(block, block.length);
  };

  const stream = new Transform({
    highWaterMark: 1 << 20,
    async transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        if (chunk.length >= blockSize / 2) {
          // A large chunk (a big file's read) is a block of its own, as it is: copying every byte into
          // fixed-size blocks cost more main-thread time than anything but hashing. Blocks need not be the
          // same size; each is deflated with the 32 KiB before it as its dictionary either way.
          if (pendingBytes) submit(joinPending(), false);
          submit(chunk, false);
        } else {
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= blockSize) submit(joinPending(), false);
        }
        while (inFlight.length >= parallel * 2) for (const piece of await inFlight.shift()!) this.push(piece);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    async flush(done: TransformCallback) {
      try {
        submit(joinPending(), true);
        while (inFlight.length) for (const piece of await inFlight.shift()!) this.push(piece);
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
