import { Transform, type Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { PutBody } from '../storage/adapter.js';
import { bufferBody, fileBody, streamBody } from '../storage/body.js';
import { isRetryable, StorageError } from '../storage/errors.js';
import { latestKey, manifestKey } from '../storage/layout.js';
import type { Target } from '../storage/targets.js';
import type { Logger } from '../log.js';
import { describeError } from '../errors.js';
import { tee } from '../util/tee.js';
import { tracked } from '../util/pending.js';
import type { ArchiveResult, BuiltArchive } from './archive.js';
import type { Manifest } from '../storage/manifest.js';

export interface PushOutcome {
  target: string;
  ok: boolean;
  bytes: number;
  durationMs: number;
  error?: unknown;
}

export interface FanOutOptions {
  job: string;
  archive: string;
  encrypted: boolean;
  /** Upper bound of the archive size, for free-space checks and part sizes. */
  sizeHint?: number;
  manifest(result: ArchiveResult): Manifest;
  log: Logger;
  signal?: AbortSignal;
  /** Called with bytes stored per target as the upload proceeds. */
  onProgress?(target: string, bytes: number): void;
}

/**
 * Pushes one archive stream to every target at once (it is built only once).
 * On each target: the archive is stored, its size is checked against what
 * was built, then the manifest is written last as the commit mark, then the
 * `latest` pointer where the target keeps one. A failing target is cut off
 * from the stream and does not slow or stop the others.
 */
export async function fanOut(built: BuiltArchive, targets: Target[], options: FanOutOptions): Promise<PushOutcome[]> {
  const split = tee(built.stream, targets.length);
  // Every branch of the shared stream must be consumed at once, so the limit is the number of targets.
  const limit = pLimit(Math.max(1, targets.length));
  const outcomes = await Promise.all(targets.map((target, i) => limit(async (): Promise<PushOutcome> => {
    const branch = split.branches[i]!;
    const body = options.onProgress ? countBytes(branch, (n) => options.onProgress!(target.name, n)) : branch;
    const outcome = await tracked(`upload of ${options.archive} to target "${target.name}"`, () => commit(target, streamBody(body, options.sizeHint), built, options));
    if (!outcome.ok) {
      split.detach(i);
      branch.destroy();
      if (body !== branch) body.destroy();
    }
    return outcome;
  })));
  return retryFromLocalCopy(outcomes, targets, built, options);
}

/**
 * Stores the archive on one target, checks its size against what was built,
 * stores its index sidecar, writes the manifest last, then the `latest` pointer where the target keeps
 * one. On failure a stored archive is removed again (it has no manifest, so
 * it would never list anyway).
 */
async function commit(target: Target, body: PutBody, built: BuiltArchive, options: FanOutOptions): Promise<PushOutcome> {
  const started = Date.now();
  let archiveStored = false;
  let indexStored: string | undefined;
  try {
    const bytes = await target.adapter.put(options.archive, body, { signal: options.signal });
    archiveStored = true;
    const result = await built.result;
    if (bytes !== result.size) {
      throw new StorageError('CORRUPT', target.name, `stored ${bytes} bytes of ${options.archive}, expected ${result.size}`);
    }
    if (result.index) {
      await target.adapter.put(result.index.name, fileBody(result.index.path, result.index.size), { signal: options.signal });
      indexStored = result.index.name;
    }
    const manifest = options.manifest(result);
    await target.adapter.put(manifestKey(options.archive), bufferBody(JSON.stringify(manifest, null, 2) + '\n'), { signal: options.signal });
    if (target.adapter.setLatest) await pointLatest(target, options);
    return { target: target.name, ok: true, bytes, durationMs: Date.now() - started };
  } catch (error) {
    if (archiveStored) await target.adapter.remove(options.archive).catch(() => {});
    if (indexStored) await target.adapter.remove(indexStored).catch(() => {});
    return { target: target.name, ok: false, bytes: 0, durationMs: Date.now() - started, error };
  }
}

/**
 * Points `<job>-latest…` at the new archive and removes the pointer of the
 * other kind (`.tar.gz` when this archive is `.tar.gz.age`, and the reverse),
 * so after encryption is switched on or off no `latest` names an archive of
 * the kind the job no longer makes. A failure is a warning: the archive and
 * its manifest are stored.
 */
async function pointLatest(target: Target, options: FanOutOptions): Promise<void> {
  try {
    await target.adapter.setLatest!(latestKey(options.job, options.encrypted), options.archive);
    await target.adapter.remove(latestKey(options.job, !options.encrypted));
  } catch (err) {
    options.log.warn(`${target.name}: could not update the latest pointer: ${describeError(err)}`);
  }
}

/**
 * A live stream cannot be read twice, so a target whose upload failed with a
 * retryable error (a dropped connection, a rate limit) gets a second chance
 * from the archive another target of this run already holds on local disk;
 * as a file that body is replayable, so the retry wrapper's backoff applies.
 */
async function retryFromLocalCopy(outcomes: PushOutcome[], targets: Target[], built: BuiltArchive, options: FanOutOptions): Promise<PushOutcome[]> {
  const retryable = outcomes.filter((o) => !o.ok && isRetryable(o.error) && !options.signal?.aborted);
  if (retryable.length === 0) return outcomes;
  const holder = targets.find((t) => outcomes.find((o) => o.target === t.name)?.ok && t.adapter.localPath?.(options.archive));
  const result = await built.result.catch(() => undefined);
  if (!holder || !result) return outcomes;
  const copy = holder.adapter.localPath!(options.archive)!;
  return Promise.all(outcomes.map(async (o) => {
    if (!retryable.includes(o)) return o;
    options.log.warn(`${o.target}: ${describeError(o.error)}; uploading again from the copy on ${holder.name}`);
    const target = targets.find((t) => t.name === o.target)!;
    const again = await tracked(`upload of ${options.archive} to target "${o.target}" (again, from ${holder.name})`, () => commit(target, fileBody(copy, result.size), built, options));
    return again.ok ? { ...again, durationMs: again.durationMs + o.durationMs } : o;
  }));
}

/** Passes bytes through unchanged, reporting the running total. */
function countBytes(input: Readable, onBytes: (total: number) => void): Readable {
  let total = 0;
  const counter = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
  input.once('error', (err) => counter.destroy(err));
  return input.pipe(counter);
}
