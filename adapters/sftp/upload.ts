import type { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/**
 * Bytes per SFTP WRITE request. OpenSSH accepts up to 255 KiB of data per
 * request (its `limits@openssh.com` answer); a larger request would be split
 * into sequential round trips by ssh2.
 */
export const WRITE_CHUNK = 255 * 1024;
/** WRITE requests kept in flight at once, so the link stays busy while the server answers. */
const IN_FLIGHT = 8;

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
 * The SFTP channel's lifetime, as one guard for every request of an upload.
 * ssh2 answers requests still pending when the channel closes ("No response
 * from server"), but a request issued after that is never called back at
 * all, so without this guard an upload whose server died would wait forever
 * (and the process would drain its event loop and exit without a result).
 */
function channelGuard(sftp: SFTPWrapper) {
  let onGone!: () => void;
  const gone = new Promise<never>((_resolve, reject) => {
    onGone = () => reject(Object.assign(new Error('connection lost: the SFTP channel closed'), { code: 'ECONNRESET' }));
  });
  gone.catch(() => {});
  const channel = sftp as unknown as { readable?: boolean; incoming?: { state?: string } };
  const closed = () => channel.readable === false || channel.incoming?.state === 'closed';
  if (closed()) onGone();
  sftp.once('end', onGone);
  sftp.once('close', onGone);
  return {
    /** Issues one request; rejects at once when the channel is already gone, or as soon as it goes. */
    call<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
      if (closed()) onGone();
      const answer = new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
      return Promise.race([answer, gone]);
    },
    dispose() {
      sftp.removeListener('end', onGone);
      sftp.removeListener('close', onGone);
    },
  };
}

/**
 * Writes `input` to a new remote file at `path` (created or truncated, mode
 * `mode` from the first byte on) with up to 8 requests of 255 KiB in flight,
 * then closes the handle and waits for the server to confirm the close.
 * Resolves with the byte count. On any failure, a connection that drops
 * included, the handle is closed (when the channel still lives) and the
 * error rethrown; every request settles. Removing the file is the caller's job.
 */
export async function writeRemoteFile(sftp: SFTPWrapper, path: string, input: Readable, mode: number): Promise<number> {
  const channel = channelGuard(sftp);
  try {
    return await writeWith(channel.call, sftp, path, input, mode);
  } finally {
    channel.dispose();
  }
}

type Call = ReturnType<typeof channelGuard>['call'];

async function writeWith(call: Call, sftp: SFTPWrapper, path: string, input: Readable, mode: number): Promise<number> {
  const handle = await call<Buffer>((cb) => sftp.open(path, 'w', { mode }, cb));
  let pos = 0;
  let failure: unknown;
  const pending = new Set<Promise<void>>();
  try {
    for await (const chunk of rechunk(input, WRITE_CHUNK)) {
      if (failure) throw failure;
      const at = pos;
      pos += chunk.length;
      const w = call<void>((cb) => sftp.write(handle, chunk, 0, chunk.length, at, (err) => cb(err, undefined)))
        .catch((err: unknown) => { failure ??= err; })
        .finally(() => pending.delete(w));
      pending.add(w);
      if (pending.size >= IN_FLIGHT) await Promise.race(pending);
    }
    await Promise.all(pending);
    if (failure) throw failure;
  } catch (err) {
    input.destroy();
    await Promise.all(pending);
    await call<void>((cb) => sftp.close(handle, (e) => cb(e, undefined))).catch(() => {});
    throw err;
  }
  await call<void>((cb) => sftp.close(handle, (e) => cb(e, undefined)));
  return pos;
}
