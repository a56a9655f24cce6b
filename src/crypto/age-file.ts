import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { NONCE, PayloadCipher, PayloadDecipher, payloadKey } from './age-payload.js';
import { headerEnd, type AgeHeader } from './age-header.js';

const HIGH_WATER = 1 << 20;

/**
 * A stream that turns plaintext into a binary age file: the header, a fresh
 * random 16-byte nonce, then the payload sealed chunk by chunk as it flows.
 * Use each header for one file only.
 */
export function createAgeEncryptStream({ header, fileKey }: AgeHeader): Transform {
  const nonce = randomBytes(NONCE);
  const cipher = new PayloadCipher(payloadKey(fileKey, nonce));
  const stream = new Transform({
    highWaterMark: HIGH_WATER,
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        const out = cipher.write(chunk);
        done(null, out.length ? out : undefined);
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        done(null, cipher.end());
      } catch (err) {
        done(err as Error);
      }
    },
  });
  stream.push(Buffer.concat([header, nonce]));
  return stream;
}

/** Given a complete header (through the MAC line), returns the file key, or throws when no identity fits or the MAC is wrong. */
export type UnwrapFileKey = (header: Buffer) => Promise<Uint8Array>;

/** A stream from a binary age file to its plaintext; `ready` settles once the header was authenticated (or failed). */
export interface AgeDecryptStream extends Transform {
  ready: Promise<void>;
}

/**
 * Decrypts a binary age file as it flows. Plaintext leaves only in
 * authenticated 64 KiB chunks; a wrong key, a damaged header, a flipped bit,
 * reordered chunks, truncation (no final chunk) and trailing data are errors
 * on the stream (payload errors are PayloadError). `ready` rejects with the
 * same error when the header fails, so callers can report a wrong key before
 * they consume anything.
 */
export function createAgeDecryptStream(unwrap: UnwrapFileKey): AgeDecryptStream {
  let head: Buffer = Buffer.alloc(0);
  let decipher: PayloadDecipher | undefined;
  let fileKey: Uint8Array | undefined;
  let settle!: (err?: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  ready.catch(() => {});

  const consume = async (chunk: Buffer): Promise<Buffer | undefined> => {
    if (decipher) return decipher.write(chunk);
    head = head.length ? Buffer.concat([head, chunk]) : chunk;
    if (!fileKey) {
      const end = headerEnd(head);
      if (end < 0) return undefined;
      fileKey = await unwrap(head.subarray(0, end));
      settle();
      head = head.subarray(end);
    }
    if (head.length < NONCE) return undefined;
    decipher = new PayloadDecipher(payloadKey(fileKey, head.subarray(0, NONCE)));
    const rest = head.subarray(NONCE);
    head = Buffer.alloc(0);
    return decipher.write(rest);
  };

  const stream = new Transform({
    highWaterMark: HIGH_WATER,
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      consume(chunk).then((out) => done(null, out?.length ? out : undefined), (err: Error) => {
        settle(err);
        done(err);
      });
    },
    flush(done: TransformCallback) {
      if (!decipher) {
        const err = new Error(`the age file is truncated: it ends inside its ${fileKey ? 'payload nonce' : 'header'}`);
        settle(err);
        done(err);
        return;
      }
      try {
        done(null, decipher.end());
      } catch (err) {
        done(err as Error);
      }
    },
    destroy(err: Error | null, done: (err: Error | null) => void) {
      settle(err ?? new Error('the age stream was closed before its header was read'));
      done(err);
    },
  }) as AgeDecryptStream;
  stream.ready = ready;
  return stream;
}
