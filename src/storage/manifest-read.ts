import type { StorageAdapter } from './adapter.js';
import { StorageError } from './errors.js';
import { jobOfArchive, manifestKey } from './layout.js';
import { parseManifest, type Manifest } from './manifest.js';

/** A manifest that exists but does not belong to its archive (CORRUPT); `reason` says why, for humans. */
export class ForeignManifestError extends StorageError {
  constructor(target: string, readonly key: string, readonly reason: string, cause?: unknown) {
    super('CORRUPT', target, `${key}: ${reason}; the archive is treated as foreign`, { cause });
    this.name = 'ForeignManifestError';
  }
}

/** Manifests are small JSON documents; anything larger is not one of Ferry's. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Reads and checks `<archive>.manifest.json`: the one place a manifest is
 * read, so every command (list, restore, pull, verify, prune, the API) uses a
 * manifest only when it is bound to its archive. It is bound when its
 * `archive` equals the file name it sits beside and its `job` equals the job
 * that file name carries (callers only pass names of the config's job, so
 * that is the config's job). A missing manifest rejects with NOT_FOUND; one
 * that is unreadable as a ferry/1 manifest, too large, or bound to another
 * archive or job rejects with CORRUPT, and the archive is then foreign.
 */
export async function readManifest(adapter: StorageAdapter, archive: string, signal?: AbortSignal): Promise<Manifest> {
  const key = manifestKey(archive);
  const where = `${adapter.name}: ${key}`;
  const chunks: Buffer[] = [];
  let bytes = 0;
  const stream = await adapter.get(key, { signal });
  for await (const c of stream) {
    bytes += (c as Buffer).length;
    if (bytes > MAX_MANIFEST_BYTES) {
      stream.destroy();
      throw new ForeignManifestError(adapter.name, key, `larger than ${MAX_MANIFEST_BYTES} bytes, so not a ferry manifest`);
    }
    chunks.push(c as Buffer);
  }
  let m: Manifest;
  try {
    m = parseManifest(Buffer.concat(chunks).toString('utf8'), where);
  } catch (err) {
    throw new ForeignManifestError(adapter.name, key, (err as Error).message.replace(`${where}: `, ''), err);
  }
  const reason = bindingProblem(m, archive);
  if (reason) throw new ForeignManifestError(adapter.name, key, reason);
  return m;
}

/** Why a parsed manifest is not the manifest of `archive`, or undefined when it is. */
export function bindingProblem(m: { archive?: unknown; job?: unknown }, archive: string): string | undefined {
  if (m.archive !== archive) return `the manifest is for archive ${JSON.stringify(m.archive)}, not ${archive}`;
  const job = jobOfArchive(archive);
  if (job === undefined || m.job !== job) return `the manifest is for job ${JSON.stringify(m.job)}, not ${job ?? '(none)'}`;
  return undefined;
}

