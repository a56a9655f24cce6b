import type { Readable } from 'node:stream';
import { abortedError, StorageError } from '../../src/storage/errors.js';
import { Backoff } from './backoff.js';
import { fromSftpError } from './errors.js';
import { ReplayBuffer } from './replay-buffer.js';
import type { SftpSession } from './session.js';

/** Bytes kept in flight (sent, not yet answered) at most, so the link stays busy while the server answers. */
const IN_FLIGHT_BYTES = 2 * 1024 * 1024;
/** Requests kept in flight at least, whatever their size. */
const MIN_IN_FLIGHT = 8;
export interface ResumableUploadOptions {
  target: string;
  /** Remote path of the temporary file the bytes go to. */
  path: string;
  /** Mode of the new file, from its first byte on. */
  mode: number;
  /** See ReplayBuffer: bytes of the stream kept in memory for a resume. */
  replayBuffer: number;
  /** An upload that makes no progress for this long (connections refused, reset, timing out) gives up; 0 never resumes. */
  resumeTimeoutMs: number;
  signal?: AbortSignal;
  /** A live session: the one in use, or a new connection once the old one is gone. */
  connect(): Promise<SftpSession>;
  /** Told about each interruption before the upload waits to resume it. */
  onInterrupted?(err: StorageError, resumes: number): void;
}

/** The upload's source failed; never resumed. */
class SourceFailed {
  constructor(readonly err: unknown) {}
}

/** Regroups a stream of arbitrary chunks (gzip yields 16 KiB) into `size`-byte pieces; the last may be shorter. */
export async function* rechunk(input: AsyncIterable<Buffer | string>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const c of input) {
    let chunk = typeof c === 'string' ? Buffer.from(c) : c;
    while (chunk.length > 0) {
      if (held === 0 && chunk.length >= size) {
        yield chunk.subarray(0, size);
        chunk = chunk.subarray(size);
        continue;
      }
      const take = chunk.subarray(0, size - held);
      parts.push(take);
      held += take.length;
      chunk = chunk.subarray(take.length);
      if (held === size) {
        yield Buffer.concat(parts, held);
        parts = [];
        held = 0;
      }
    }
  }
  if (held > 0) yield Buffer.concat(parts, held);
}

/**
 * Writes `input` to a new remote file at `o.path`, riding out dropped
 * connections. Requests are issued in stream order, each at most the
 * server's write limit (`SftpSession.writeChunk`), so servers that need
 * sequential writes of their own size get them. When the connection fails
 * with a retryable error, the upload reconnects (with backoff that honours
 * `o.signal`), reads the size of the partial file and continues from there,
 * out of the replay buffer: from the smaller of that size and the bytes the
 * server had confirmed, so unconfirmed bytes are always sent again. A partial
 * file shorter than the buffer reaches back fails with CORRUPT; no progress
 * for `resumeTimeoutMs` fails with UNAVAILABLE. The file is closed and its
 * size checked before this resolves with the byte count and the number of
 * resumes. On failure the file is left for the caller to remove.
 */
export async function uploadResumable(input: Readable, o: ResumableUploadOptions): Promise<{ bytes: number; resumes: number }> {
  let session: SftpSession | undefined = await o.connect();
  const chunkSize = session.writeChunk;
  const maxInFlight = Math.max(MIN_IN_FLIGHT, Math.floor(IN_FLIGHT_BYTES / chunkSize));
  const source = rechunk(input, chunkSize)[Symbol.asyncIterator]();
  const buffer = new ReplayBuffer(o.replayBuffer);
  const state = { confirmed: 0, eof: false };
  let from = 0;
  let resumes = 0;
  let progressMark = 0;
  const backoff = new Backoff(o.target, o.resumeTimeoutMs, o.signal);
  for (;;) {
    try {
      if (!session) {
        session = await o.connect();
        from = await resumePoint(session, o, buffer, state.confirmed);
        state.confirmed = from;
        resumes++;
      }
      await writeAttempt(session, o, source, buffer, state, from, maxInFlight);
      return { bytes: buffer.end, resumes };
    } catch (err) {
      if (err instanceof SourceFailed) throw err.err;
      if (o.signal?.aborted) throw abortedError(o.target, o.signal, `upload of ${o.path}`);
      const mapped = fromSftpError(o.target, err, `writing ${o.path}`);
      if (!mapped.retryable) throw err;
      session?.end();
      session = undefined;
      if (state.confirmed > progressMark) {
        progressMark = state.confirmed;
        backoff.progressed();
      }
      if (o.resumeTimeoutMs > 0) o.onInterrupted?.(mapped, resumes);
      await backoff.wait(mapped, `writing ${o.path}`);
    }
  }
}

/** Where a resumed upload continues: the partial file's size, capped at the confirmed bytes; CORRUPT when the buffer no longer reaches back that far. */
async function resumePoint(session: SftpSession, o: ResumableUploadOptions, buffer: ReplayBuffer, confirmed: number): Promise<number> {
  const size = (await session.stat(o.path))?.size ?? 0;
  const at = Math.min(size, confirmed);
  if (at < buffer.start) {
    throw new StorageError(
      'CORRUPT',
      o.target,
      `cannot resume the upload to ${o.path}: the server kept ${size} bytes of it although it had confirmed ${confirmed}, ` +
        `and only the bytes from ${buffer.start} on are still in memory (replay_buffer ${buffer.limit}); the upload was abandoned`,
    );
  }
  return at;
}

/**
 * One connection's share of the upload: opens the file (created when `from`
 * is 0, else reopened in place), resends the buffered bytes from `from`, then
 * continues with the stream until it ends, and closes the file. Every
 * request it issued has settled when it returns or throws.
 */
async function writeAttempt(
  session: SftpSession,
  o: ResumableUploadOptions,
  source: AsyncIterator<Buffer>,
  buffer: ReplayBuffer,
  state: { confirmed: number; eof: boolean },
  from: number,
  maxInFlight: number,
): Promise<void> {
  const handle = await session.open(o.path, from === 0 ? 'w' : 'r+', o.mode);
  const order: { end: number; done: boolean }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  const issue = (at: number, data: Buffer) => {
    const record = { end: at + data.length, done: false };
    order.push(record);
    const w: Promise<void> = session.write(handle, data, at).then(
      () => {
        record.done = true;
        while (order[0]?.done) state.confirmed = order.shift()!.end;
      },
      (err: unknown) => { failure ??= { err }; },
    ).finally(() => inFlight.delete(w));
    inFlight.add(w);
  };
  /** Waits until another request may be issued (and the buffer has room); throws the first failure. */
  const room = async () => {
    for (;;) {
      if (failure) throw failure.err;
      buffer.trim(state.confirmed);
      if (inFlight.size < maxInFlight && buffer.held <= buffer.limit) return;
      if (inFlight.size === 0) return;
      await Promise.race(inFlight);
    }
  };
  try {
    // A snapshot: `room()` trims the buffer while this loop runs (never the bytes still to resend).
    for (const c of [...buffer.from(from)]) {
      await room();
      issue(c.at, c.data);
    }
    while (!state.eof) {
      await room();
      let next: IteratorResult<Buffer>;
      try {
        next = await source.next();
      } catch (err) {
        throw new SourceFailed(err);
      }
      if (next.done) {
        state.eof = true;
        break;
      }
      issue(buffer.push(next.value), next.value);
    }
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (failure) throw failure.err;
  } catch (err) {
    await Promise.all(inFlight);
    if (!session.dead) await session.closeHandle(handle).catch(() => {});
    throw err;
  }
  await session.closeHandle(handle);
  const stored = (await session.stat(o.path))?.size;
  if (stored !== buffer.end) {
    throw new StorageError('CORRUPT', o.target, `the server reports ${stored ?? 'no'} bytes for ${o.path} after ${buffer.end} were written`);
  }
}
