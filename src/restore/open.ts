import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { finished } from 'node:stream/promises';
import type { Manifest } from '../pipeline/manifest.js';
import type { Target } from '../storage/targets.js';
import { makeDecrypter, type DecryptKeys } from './decrypt.js';
import { VerifyStream } from './fetch.js';

export interface OpenedArchive {
  /** The archive bytes, decrypted when `decrypt` was asked and the archive is encrypted. */
  stream: Readable;
  /** Resolves once every stored byte was read and matched the manifest's size and sha256. */
  verified: Promise<void>;
}

/** Streams an archive from a target through the manifest check and, optionally, age decryption. */
export async function openArchive(target: Target, manifest: Manifest, options: { decrypt?: DecryptKeys; signal?: AbortSignal }): Promise<OpenedArchive> {
  const raw = await target.adapter.get(manifest.archive, { signal: options.signal });
  const verify = new VerifyStream(manifest, target.name);
  pipeline(raw, verify, () => {});
  const verified = finished(verify);
  verified.catch(() => {});
  if (!manifest.encrypted || !options.decrypt) return { stream: verify, verified };
  const decrypt = await makeDecrypter(options.decrypt);
  try {
    return { stream: await decrypt(verify, `${manifest.archive} (from ${target.name})`), verified };
  } catch (err) {
    verify.destroy();
    raw.destroy();
    throw err;
  }
}

/** The plain tar inside a (decrypted) tar.gz stream; an error upstream surfaces on the returned stream. */
export function gunzipped(stream: Readable): Readable {
  const gunzip = createGunzip();
  stream.on('error', (err) => gunzip.destroy(err));
  return stream.pipe(gunzip);
}
