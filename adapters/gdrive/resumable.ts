import { createHash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import type { DriveAuth } from './auth.js';
import type { Backoff } from './backoff.js';
import { describeFailure, sessionFailureKind, toStorageError, type DriveFailure } from './errors.js';
import { giveUp, lengthError, lostData, reasonOf, sessionGone } from './upload-errors.js';
import { StorageError, abortedError } from '../../src/storage/errors.js';

/** Drive requires every chunk but the last to be a multiple of this. */
export const CHUNK_QUANTUM = 256 * 1024;

/** File metadata as Drive returns it (int64 fields are strings). */
export interface DriveFile {
  id: string;
  name?: string;
  mimeType?: string;
  size?: string;
  md5Checksum?: string;
  createdTime?: string;
  modifiedTime?: string;
}

export interface UploadContext {
  target: string;
  auth: DriveAuth;
  /** API root with a trailing slash, e.g. `https://www.googleapis.com/`. */
  apiRoot: string;
  /** Bytes per chunk; a multiple of CHUNK_QUANTUM. One chunk is held in memory. */
  chunkSize: number;
  /** `fields` selector for the file resource returned by the final chunk. */
  fields: string;
  /** Describes the upload in error messages ("uploading x to folder y"). */
  what: string;
  /** Whether the caller can replay the whole body (a file): decides what an expired session's error says. */
  replayable: boolean;
  /** Backoff state shared with the other calls of the same put. */
  backoff: Backoff;
  /** Told about every interruption the upload rides out. */
  onInterruption?(message: string): void;
}

export interface UploadOutcome {
  file: DriveFile;
  bytes: number;
  /** Hex MD5 of the bytes read from the source. */
  md5: string;
  /** Times the upload resumed from the offset Drive reported (after a failed chunk, a short store or a new session). */
  resumes: number;
}

interface Request {
  url: string;
  method: 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  data?: unknown;
  signal?: AbortSignal;
}

/** One authorized request; 2xx and 308 resolve, anything else throws the gaxios error. */
async function send(ctx: UploadContext, req: Request): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await ctx.auth.request<string>({
    ...req,
    responseType: 'text',
    retry: false,
    validateStatus: (s: number) => (s >= 200 && s < 300) || s === 308,
    errorRedactor: redactHeaders as never,
  });
  return { status: res.status, headers: res.headers as unknown as Headers, body: typeof res.data === 'string' ? res.data : '' };
}

/**
 * Redacts the credentials a failed request's error carries (its
 * `Authorization` header). It replaces gaxios's default redactor, which
 * takes a Buffer body for form data and walks it byte by byte: seconds of
 * blocked event loop for every failed chunk.
 */
function redactHeaders(error: { config?: { headers?: Headers }; response?: { config?: { headers?: Headers } } }): void {
  for (const headers of [error.config?.headers, error.response?.config?.headers]) {
    if (!headers || typeof headers.forEach !== 'function') continue;
    const secret: string[] = [];
    headers.forEach((_, key) => { if (/^(authorization|authentication)$/i.test(key) || /secret/i.test(key)) secret.push(key); });
    for (const key of secret) headers.set(key, '<redacted>');
  }
}

/** Bytes the server holds, from a 308's `Range: bytes=0-N` (absent: none). */
function confirmed(headers: Headers): number {
  const m = /bytes=0-(\d+)/.exec(headers.get('range') ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

/**
 * Uploads `input` with Drive's resumable protocol: a POST opens a session
 * (its URI comes back in `Location`), then chunks are PUT with
 * `Content-Range: bytes a-b/total` (`*` while the total is unknown) and
 * answered 308 with the `Range` the server holds; the last chunk carries the
 * total length and is answered with the file resource. Drive creates the
 * file only when that last chunk completes, so an aborted or failed upload
 * leaves no file: the session simply expires.
 *
 * Memory is one chunk: bytes are copied into a fixed buffer, and a full
 * buffer is sent only once more data arrives, so the final chunk (and the
 * total) is known without reading ahead further. The MD5 is computed while
 * streaming. When `expectedSize` is set, a source of any other length fails
 * with CORRUPT before the last chunk is sent.
 *
 * A chunk is kept until Drive confirms all of it, so every failure short of
 * losing the session is resumed (see `deliver`). If the last chunk fails in
 * a way that leaves its outcome unknown and the upload gives up, the
 * session is queried and a file it did create is deleted before the error
 * is thrown.
 */
export async function resumableUpload(
  ctx: UploadContext,
  metadata: Record<string, unknown>,
  input: Readable,
  expectedSize: number | undefined,
  signal?: AbortSignal,
): Promise<UploadOutcome> {
  const hash = createHash('md5');
  const up: Upload = { session: '', buf: Buffer.allocUnsafe(ctx.chunkSize), fill: 0, start: 0, total: expectedSize, resumes: 0 };
  let read = 0;
  let reading = false;
  let finalSent = false;

  try {
    if (signal?.aborted) throw abortedError(ctx.target, signal);
    up.session = await initiate(ctx, metadata, expectedSize, signal);
    if (signal) addAbortSignal(signal, input);
    reading = true;
    for await (const piece of input) {
      reading = false;
      let chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
      hash.update(chunk);
      read += chunk.length;
      if (expectedSize !== undefined && read > expectedSize) throw lengthError(ctx, expectedSize, read, 'more');
      while (chunk.length > 0) {
        if (up.fill === up.buf.length) {
          await deliver(ctx, up, metadata, false, signal);
          up.start += up.fill;
          up.fill = 0;
        }
        const n = chunk.copy(up.buf, up.fill);
        up.fill += n;
        chunk = chunk.subarray(n);
      }
      reading = true;
    }
    reading = false;
    if (expectedSize !== undefined && read !== expectedSize) throw lengthError(ctx, expectedSize, read, 'fewer');
    finalSent = true;
    up.total = read;
    const body = await deliver(ctx, up, metadata, true, signal);
    return { file: parseFile(ctx, body), bytes: read, md5: hash.digest('hex'), resumes: up.resumes };
  } catch (err) {
    input.destroy();
    if (finalSent && up.session) await discardIfCreated(ctx, up.session, read);
    if (signal?.aborted) throw abortedError(ctx.target, signal);
    if (err instanceof StorageError) throw err;
    if (reading) {
      throw new StorageError('UNKNOWN', ctx.target, `${ctx.what}: the data to upload failed: ${(err as Error).message}`, { cause: err, retryable: false });
    }
    throw toStorageError(ctx.target, ctx.what, describeFailure(err), err);
  }
}

/** The upload's state: the session, and the chunk in memory (`buf[0..fill)` holds bytes `start..start+fill`). */
interface Upload {
  session: string;
  buf: Buffer;
  fill: number;
  start: number;
  /** Total length once known (declared up front, or when the last chunk is sent). */
  total?: number;
  resumes: number;
}

/**
 * Opens a session. Retried with backoff on transient failures: a session
 * that was opened but whose answer was lost creates nothing.
 */
async function initiate(ctx: UploadContext, metadata: Record<string, unknown>, size: number | undefined, signal?: AbortSignal): Promise<string> {
  const url = new URL('upload/drive/v3/files', ctx.apiRoot);
  url.searchParams.set('uploadType', 'resumable');
  url.searchParams.set('supportsAllDrives', 'true');
  url.searchParams.set('fields', ctx.fields);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=UTF-8',
    'X-Upload-Content-Type': String(metadata.mimeType ?? 'application/octet-stream'),
  };
  if (size !== undefined) headers['X-Upload-Content-Length'] = String(size);
  for (;;) {
    try {
      const res = await send(ctx, { url: url.href, method: 'POST', headers, data: JSON.stringify(metadata), signal });
      const location = res.headers.get('location');
      if (!location) throw new StorageError('UNKNOWN', ctx.target, `${ctx.what}: Drive opened no upload session (no Location header)`, { retryable: true });
      ctx.backoff.progress();
      return new URL(location, ctx.apiRoot).href;
    } catch (err) {
      if (err instanceof StorageError || signal?.aborted) throw err;
      const failure = describeFailure(err);
      if (sessionFailureKind(failure) !== 'transient') throw toStorageError(ctx.target, ctx.what, failure, err);
      await waitOut(ctx, failure, err, 'opening the upload session', signal);
    }
  }
}

/**
 * Delivers the chunk in memory: PUTs the bytes Drive does not hold yet,
 * until it confirms all of them. A 308 whose `Range` ends early (Drive kept
 * fewer bytes than sent) is answered by resending the rest. A failed
 * request (dropped connection, 5xx, 429, rate-limit 403) is waited out with
 * backoff, then the session is asked how much it holds (`Content-Range:
 * bytes *​/TOTAL`, or `*​/*` while the total is unknown) and the upload
 * resumes from that offset. A session that is gone (404/410) is replaced by
 * a new one when the chunk in memory still starts at byte 0; otherwise the
 * put fails (retryable only when the caller can replay the whole body).
 * Resolves with the response body of the final chunk (the file resource).
 */
async function deliver(ctx: UploadContext, up: Upload, metadata: Record<string, unknown>, final: boolean, signal?: AbortSignal): Promise<string> {
  const end = up.start + up.fill;
  const totalField = up.total === undefined ? '*' : String(up.total);
  let from = up.start;
  let ask = false;
  for (;;) {
    try {
      const res = ask
        ? await send(ctx, { url: up.session, method: 'PUT', headers: { 'Content-Range': `bytes */${totalField}` }, signal })
        : await send(ctx, {
            url: up.session,
            method: 'PUT',
            headers: {
              'Content-Range': from === end ? `bytes */${totalField}` : `bytes ${from}-${end - 1}/${totalField}`,
              'Content-Type': 'application/octet-stream',
            },
            data: up.buf.subarray(from - up.start, up.fill),
            signal,
          });
      if (ask) up.resumes++; // the session answered after an interruption: the upload goes on from what it holds
      if (res.status !== 308) {
        if (!final) throw new StorageError('UNKNOWN', ctx.target, `${ctx.what}: Drive finished the upload before the last chunk (HTTP ${res.status})`, { retryable: false });
        ctx.backoff.progress();
        return res.body;
      }
      const held = confirmed(res.headers);
      if (held < up.start || held > end) throw lostData(ctx, held, up.start);
      const progressed = held > from;
      if (progressed) ctx.backoff.progress();
      if (held === end && !final) return '';
      if (!ask) {
        // Drive answered a PUT but kept fewer bytes than it carried: resend the rest from the chunk in memory.
        up.resumes++;
        ctx.onInterruption?.(`${ctx.what}: Drive kept ${held - from} of ${end - from} bytes sent; resending from byte ${held}`);
        if (!progressed && !(await ctx.backoff.wait(undefined, signal))) throw giveUp(ctx, { status: 308 }, undefined);
      }
      ask = false;
      from = held;
    } catch (err) {
      if (err instanceof StorageError || signal?.aborted) throw err;
      const failure = describeFailure(err);
      const kind = sessionFailureKind(failure);
      if (kind === 'fatal') throw toStorageError(ctx.target, ctx.what, failure, err);
      if (kind === 'gone') {
        if (up.start !== 0) throw sessionGone(ctx, failure, up.start, err);
        ctx.onInterruption?.(`${ctx.what}: the upload session is gone (HTTP ${failure.status}); starting a new one from the chunk in memory`);
        up.session = await initiate(ctx, metadata, up.total, signal);
        up.resumes++;
        from = 0;
        ask = false;
        continue;
      }
      await waitOut(ctx, failure, err, ask ? 'asking the session how much it holds' : `sending bytes ${from}-${end - 1}`, signal);
      ask = true;
    }
  }
}

/** Waits before the next attempt after a transient failure; throws when the backoff window is used up. */
async function waitOut(ctx: UploadContext, failure: DriveFailure, err: unknown, doing: string, signal?: AbortSignal): Promise<void> {
  const delay = ctx.backoff.next(failure.retryAfterMs);
  if (delay === undefined) throw giveUp(ctx, failure, err);
  ctx.onInterruption?.(`${ctx.what}: ${doing} failed (${reasonOf(failure)}); trying again in ${(delay / 1000).toFixed(1)} s`);
  await ctx.backoff.sleep(delay, signal);
}

/** Asks a session whose last chunk failed whether it created the file anyway, and deletes that file. Best effort. */
async function discardIfCreated(ctx: UploadContext, session: string, total: number): Promise<void> {
  try {
    const res = await send(ctx, {
      url: session,
      method: 'PUT',
      headers: { 'Content-Range': `bytes */${total}` },
      signal: AbortSignal.timeout(15_000),
    });
    if (res.status === 308) return;
    const file = JSON.parse(res.body) as DriveFile;
    if (!file.id) return;
    const url = new URL(`drive/v3/files/${encodeURIComponent(file.id)}`, ctx.apiRoot);
    url.searchParams.set('supportsAllDrives', 'true');
    await send(ctx, { url: url.href, method: 'DELETE', signal: AbortSignal.timeout(15_000) });
  } catch {
    // The session is gone or unreachable: nothing more can be done here.
  }
}

function parseFile(ctx: UploadContext, body: string): DriveFile {
  try {
    const file = JSON.parse(body) as DriveFile;
    if (file && typeof file.id === 'string') return file;
  } catch {
    // fall through
  }
  throw new StorageError('UNKNOWN', ctx.target, `${ctx.what}: Drive answered the last chunk without a file resource`, { retryable: false });
}
