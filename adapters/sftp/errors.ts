import { StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import { networkErrorCode } from '../../src/storage/network-errors.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02, and 14/15 of later drafts) as ssh2 reports them in `err.code`. */
const SFTP_STATUS: Record<number, StorageErrorCode> = {
  2: 'NOT_FOUND', // NO_SUCH_FILE
  3: 'AUTH', // PERMISSION_DENIED
  6: 'UNAVAILABLE', // NO_CONNECTION
  7: 'UNAVAILABLE', // CONNECTION_LOST
  14: 'NO_SPACE', // NO_SPACE_ON_FILESYSTEM
  15: 'NO_SPACE', // QUOTA_EXCEEDED
};

/** Codes of errno and of ssh2-sftp-client's own errors. */
const CLIENT_CODES: Record<string, StorageErrorCode> = {
  ENOENT: 'NOT_FOUND',
  ENOTDIR: 'NOT_FOUND',
  EACCES: 'AUTH',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  ABORT_ERR: 'ABORTED',
  ERR_BAD_AUTH: 'AUTH',
  ERR_BAD_PATH: 'NOT_FOUND',
  // No SFTP channel, or it ended: the connection is gone.
  ERR_NOT_CONNECTED: 'UNAVAILABLE',
  // ssh2-sftp-client's code for an unexpected end or close of the connection, and for ssh2 errors
  // that carry no code of their own (a request the closing channel never answered).
  ERR_GENERIC_CLIENT: 'UNAVAILABLE',
};

/** ssh2's `level` of a connection-wide error. */
const LEVELS: Record<string, StorageErrorCode> = {
  'client-authentication': 'AUTH',
  'client-socket': 'UNAVAILABLE',
  'client-timeout': 'UNAVAILABLE',
  'client-dns': 'UNAVAILABLE',
};

/**
 * Converts an ssh2 / ssh2-sftp-client error into a StorageError naming the
 * target and the operation. Decided from codes only, never from message
 * text: an SFTP status number, an errno or client code, a network error
 * anywhere in the cause chain, or ssh2's `level` (on the error or on its
 * cause: ssh2-sftp-client re-creates connection errors without it, so the
 * connection keeps ssh2's original as the cause). An error with none of
 * these on a connection that has ended (`connectionGone`: ssh2 fails the
 * requests a closed channel never answered without a code) is UNAVAILABLE.
 */
export function fromSftpError(target: string, err: unknown, what: string, connectionGone = false): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  let code: StorageErrorCode | undefined;
  if (e?.name === 'AbortError') code = 'ABORTED';
  for (const x of [e, e?.cause as typeof e]) {
    const level = (x as { level?: unknown } | undefined)?.level;
    code ??= typeof level === 'string' ? LEVELS[level] : undefined;
  }
  if (!code && typeof e?.code === 'number') code = SFTP_STATUS[e.code];
  if (!code && networkErrorCode(err)) code = 'UNAVAILABLE';
  if (!code && typeof e?.code === 'string') code = CLIENT_CODES[e.code];
  if (!code && connectionGone) code = 'UNAVAILABLE';
  return new StorageError(code ?? 'UNKNOWN', target, `${what}: ${message}`, { cause: err });
}
