import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { finished } from 'node:stream/promises';
import type { Manifest } from '../storage/manifest.js';
import type { Target } from '../storage/targets.js';
import { makeDecrypter, type DecryptKeys } from './decrypt.js';
import { checkStoredBytes, VerifyStream } from './verify-stream.js';
import { DamagedArchiveError, DecryptError, describeError, FerryError, UnsafeEntryError } from '../errors.js';
import { isStorageError } from '../storage/errors.js';

export interface OpenedArchive {
  /** The archive bytes, decrypted when `decrypt` was asked and the archive is encrypted. */
  stream: Readable;
  /** Resolves once every stored byte was read and matched the manifest's size and sha256. */
  verified: Promise<void>;
  /** Destroys every stream of the chain, the target's download first; idempotent. */
  destroy(): void;
}

/**
 * How far reading an archive got: progress is measured on the stored bytes
 * (the input), against the manifest's size, so it ends at exactly 100 %.
 */
export interface ReadProgress {
  /**
   * The work ahead: the stored size and, when the manifest says, the files
   * the archive holds. With `byFile` (a tree snapshot, whose stored bytes are
   * its files' bytes), bytes are read as each file is, and `bytes()` is not called.
   */
  start(total: { bytes: number; files?: number; byFile?: boolean }): void;
  /** Stored bytes read so far. */
  bytes(done: number): void;
  /** One more file restored or checked, of this many bytes. */
  file(bytes: number): void;
}

export interface ReadOptions {
  decrypt?: DecryptKeys;
  signal?: AbortSignal;
  progress?: ReadProgress;
}

/** Streams an archive from a target through the manifest check and, optionally, age decryption. */
export async function openArchive(target: Target, manifest: Manifest, options: ReadOptions): Promise<OpenedArchive> {
  const raw = await target.adapter.get(manifest.archive, { signal: options.signal });
  // A snapshot's tar.gz is made as it is read: each file is checked against its inventory instead.
  const tree = manifest.layout === 'tree';
  const verify = tree ? new PassThrough() : new VerifyStream(manifest, target.name);
  if (options.progress) {
    const files = manifest.sources.reduce((n, s) => n + s.files, 0);
    options.progress.start({ bytes: manifest.size, files, byFile: tree });
    const progress = options.progress;
    if (verify instanceof VerifyStream) verify.onBytes = (n) => progress.bytes(n);
  }
  pipeline(raw, verify, () => {});
  const verified = finished(verify);
  verified.catch(() => {});
  const chain: Readable[] = [raw, verify];
  const destroy = () => { for (const s of chain) s.destroy(); };
  if (!manifest.encrypted || !options.decrypt) return { stream: verify, verified, destroy };
  try {
    const decrypt = await makeDecrypter(options.decrypt);
    const stream = await decrypt(verify, `${manifest.archive} (from ${target.name})`);
    chain.push(stream);
    return { stream, verified, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

/**
 * The plain tar inside a (decrypted) tar.gz stream; an error upstream surfaces
 * on the returned stream. zlib already inflates on the thread pool; what costs
 * is the hop back to the main thread per output chunk, so chunks are 256 KiB
 * instead of zlib's 16 KiB (`bench/gunzip.ts`: about 3× less wall time and
 * half the CPU; a worker thread would add a copy without removing that cost).
 */
export function gunzipped(stream: Readable): Readable {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  stream.on('error', (err) => gunzip.destroy(err));
  return stream.pipe(gunzip);
}

/**
 * Streams an archive through `consume` and resolves only once `consume` is
 * done and every stored byte matched the manifest. On any failure (a refused
 * entry, a wrong key, a damaged archive) the target's download stream is
 * destroyed before this rejects, so nothing stays open; the failure becomes
 * one clear FerryError (see `diagnose`).
 */
export async function readArchive<T>(
  target: Target,
  manifest: Manifest,
  options: ReadOptions,
  consume: (stream: Readable) => Promise<T>,
): Promise<T> {
  let opened: OpenedArchive | undefined;
  try {
    opened = await openArchive(target, manifest, options);
    const [value] = await Promise.all([consume(opened.stream), opened.verified]);
    return value;
  } catch (err) {
    opened?.destroy();
    throw await diagnose(err, () => checkStoredBytes(target.adapter, manifest, options.signal), `${manifest.archive} (from ${target.name})`);
  }
}

/**
 * Turns a failed read into one clear error. Key and refusal errors are
 * already clear (a DecryptError, an UnsafeEntryError); a CORRUPT download
 * is a DamagedArchiveError; anything else (gzip or tar errors from flipped
 * bits, a cut stream) is checked against the manifest so a damaged archive
 * is named as such.
 */
export async function diagnose(err: unknown, recheck: () => Promise<void>, what: string): Promise<FerryError> {
  const msg = describeError(err);
  if (err instanceof DecryptError) return new DecryptError(msg, { cause: err });
  if (err instanceof UnsafeEntryError) return new UnsafeEntryError(msg, { cause: err });
  if (err instanceof FerryError) return err;
  if (isStorageError(err, 'CORRUPT')) return new DamagedArchiveError(msg, { cause: err });
  try {
    await recheck();
  } catch (checkErr) {
    if (isStorageError(checkErr, 'CORRUPT')) return new DamagedArchiveError(describeError(checkErr), { cause: err });
  }
  return new FerryError(`cannot read ${what}: ${msg}`, { cause: err });
}
