import { createHash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import type { DriveAuth } from './auth.js';
import { describeFailure, toStorageError } from './errors.js';
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
}

export interface UploadOutcome {
  file: DriveFile;
  bytes: number;
  /** Hex MD5 of the bytes read from the source. */
  md5: string;
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
  });
  return { status: res.status, headers: res.headers as unknown as Headers, body: typeof res.data === 'string' ? res.data : '' };
}

/** Bytes the server holds, from a 308's `Range: bytes=0-N` (absent: none). */
function confirmed(headers: Headers): number {
  const m = /bytes=0-(\d+)/.exec(headers.get('range') ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

/**
 * Uploads `input` with Drive's resumable protocol: a POST opens a session
 * (its URI comes back in `Location`), then chunks are PUT with
 * `Content-Range: bytes a-b/*` and answered 308 with the `Range` the server
 * holds; the last chunk carries the total length and is answered with the
 * file resource. Drive creates the file only when that last chunk completes,
 * so an aborted or failed upload leaves no file: the session simply expires.
 *
 * Memory is one chunk: bytes are copied into a fixed buffer, and a full
 * buffer is sent only once more data arrives, so the final chunk (and the
 * total) is known without reading ahead further. The MD5 is computed while
 * streaming. When `expectedSize` is set, a source of any other length fails
 * with CORRUPT before the last chunk is sent.
 *
 * If the last chunk fails in a way that leaves its outcome unknown (abort,
 * dropped connection), the session is queried and a file it did create is
 * deleted before the error is thrown.
 */
export async function resumableUpload(
  ctx: UploadContext,
  metadata: Record<string, unknown>,
  input: Readable,
  expectedSize: number | undefined,
  signal?: AbortSignal,
): Promise<UploadOutcome> {
  const hash = createHash('md5');
  const buf = Buffer.allocUnsafe(ctx.chunkSize);
  let fill = 0;
  let read = 0;
  let offset = 0;
  let reading = false;
  let finalSent = false;
  let session: string | undefined;

  try {
    if (signal?.aborted) throw abortedError(ctx.target, signal);
    session = await initiate(ctx, metadata, expectedSize, signal);
    if (signal) addAbortSignal(signal, input);
    reading = true;
    for await (const piece of input) {
      reading = false;
      let chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
      hash.update(chunk);
      read += chunk.length;
      if (expectedSize !== undefined && read > expectedSize) throw lengthError(ctx, expectedSize, read, 'more');
      while (chunk.length > 0) {
        if (fill === buf.length) {
          offset = await putChunk(ctx, session, buf, offset, undefined, signal);
          fill = 0;
        }
        const n = chunk.copy(buf, fill);
        fill += n;
        chunk = chunk.subarray(n);
      }
      reading = true;
    }
    reading = false;
    if (expectedSize !== undefined && read !== expectedSize) throw lengthError(ctx, expectedSize, read, 'fewer');
    finalSent = true;
    const body = await putLast(ctx, session, buf.subarray(0, fill), offset, read, signal);
    return { file: parseFile(ctx, body), bytes: read, md5: hash.digest('hex') };
  } catch (err) {
    input.destroy();
    if (finalSent && session) await discardIfCreated(ctx, session, read);
    if (signal?.aborted) throw abortedError(ctx.target, signal);
    if (err instanceof StorageError) throw err;
    if (reading) {
      throw new StorageError('UNKNOWN', ctx.target, `${ctx.what}: the data to upload failed: ${(err as Error).message}`, { cause: err, retryable: false });
    }
    throw toStorageError(ctx.target, ctx.what, describeFailure(err), err);
  }
}

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
  const res = await send(ctx, { url: url.href, method: 'POST', headers, data: JSON.stringify(metadata), signal });
  const location = res.headers.get('location');
  if (!location) throw new StorageError('UNKNOWN', ctx.target, `${ctx.what}: Drive opened no upload session (no Location header)`, { retryable: true });
  return new URL(location, ctx.apiRoot).href;
}

/** Sends one non-final chunk starting at `offset`; resends any tail the server did not keep. Resolves with the new offset. */
async function putChunk(ctx: UploadContext, session: string, chunk: Buffer, offset: number, total: number | undefined, signal?: AbortSignal): Promise<number> {
  let start = offset;
  const end = offset + chunk.length;
  for (let attempt = 0; attempt < 3 && start < end; attempt++) {
    const part = chunk.subarray(start - offset);
    const res = await send(ctx, {
      url: session,
      method: 'PUT',
      headers: { 'Content-Range': `bytes ${start}-${end - 1}/${total ?? '*'}`, 'Content-Type': 'application/octet-stream' },
      data: part,
      signal,
    });
    if (res.status !== 308) throw new StorageError('UNKNOWN', ctx.target, `${ctx.what}: Drive finished the upload before the last chunk (HTTP ${res.status})`, { retryable: false });
    const held = confirmed(res.headers);
    if (held < offset || held > end) throw lostData(ctx, held, offset);
    start = held;
  }
  if (start < end) throw lostData(ctx, start, end);
  return end;
}

/** Sends the final chunk (possibly empty) with the total length; resolves with the file resource JSON. */
async function putLast(ctx: UploadContext, session: string, chunk: Buffer, offset: number, total: number, signal?: AbortSignal): Promise<string> {
  let start = offset;
  for (let attempt = 0; attempt < 3; attempt++) {
    const part = chunk.subarray(start - offset);
    const range = part.length === 0 ? `bytes */${total}` : `bytes ${start}-${total - 1}/${total}`;
    const res = await send(ctx, {
      url: session,
      method: 'PUT',
      headers: { 'Content-Range': range, 'Content-Type': 'application/octet-stream' },
      data: part,
      signal,
    });
    if (res.status !== 308) return res.body;
    const held = confirmed(res.headers);
    if (held < offset || held > total) throw lostData(ctx, held, offset);
    start = held;
  }
  throw lostData(ctx, start, total);
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

function lengthError(ctx: UploadContext, expected: number, got: number, which: string): StorageError {
  return new StorageError('CORRUPT', ctx.target, `${ctx.what}: the source produced ${which} bytes than announced (${got} vs ${expected})`, { retryable: false });
}

function lostData(ctx: UploadContext, held: number, expected: number): StorageError {
  return new StorageError('UNAVAILABLE', ctx.target, `${ctx.what}: the upload session holds ${held} bytes where ${expected} were expected; the upload must start over`);
}
