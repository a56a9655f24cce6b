/** The errors a resumable upload ends with; each names the target and what was being uploaded. */
import { StorageError } from '../../src/storage/errors.js';
import { toStorageError, type DriveFailure } from './errors.js';
import type { UploadContext } from './resumable.js';

export function lengthError(ctx: UploadContext, expected: number, got: number, which: string): StorageError {
  return new StorageError('CORRUPT', ctx.target, `${ctx.what}: the source produced ${which} bytes than announced (${got} vs ${expected})`, { retryable: false });
}

export function reasonOf(f: DriveFailure): string {
  if (f.status !== undefined) return `HTTP ${f.status}${f.reason ? ` ${f.reason}` : ''}`;
  return f.systemCode ?? 'connection failed';
}

export function giveUp(ctx: UploadContext, failure: DriveFailure, err: unknown): StorageError {
  const base = toStorageError(ctx.target, ctx.what, failure, err);
  return new StorageError(base.code, ctx.target, `${ctx.what}: gave up after ${ctx.backoff.stalledSeconds()} s without progress (${reasonOf(failure)})`, { cause: err, retryable: base.retryable });
}

export function sessionGone(ctx: UploadContext, failure: DriveFailure, offset: number, err: unknown): StorageError {
  const tail = ctx.replayable
    ? 'the upload starts over from the first byte'
    : 'the archive stream cannot be replayed from the start, so this upload failed (a local copy of the archive, from another target of the run, can be sent again)';
  // Retryable: a new session works; only a body that can be read again (a file) gets the retry.
  return new StorageError('UNAVAILABLE', ctx.target, `${ctx.what}: the Drive upload session expired (HTTP ${failure.status}) after ${offset} bytes; ${tail}`, { cause: err });
}

export function lostData(ctx: UploadContext, held: number, expected: number): StorageError {
  return new StorageError('UNAVAILABLE', ctx.target, `${ctx.what}: the upload session holds ${held} bytes where ${expected} were expected; the upload must start over`);
}
