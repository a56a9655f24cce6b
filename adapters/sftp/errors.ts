import { StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import { networkErrorCode } from '../../src/storage/network-errors.js';

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02) as ssh2 reports them in `err.code`. */
const SFTP_STATUS: Record<number, StorageErrorCode> = {
  2: 'NOT_FOUND', // NO_SUCH_FILE
  3: 'AUTH', // PERMISSION_DENIED
  6: 'UNAVAILABLE', // NO_CONNECTION
  7: 'UNAVAILABLE', // CONNECTION_LOST
};

const ERRNO: Record<string, StorageErrorCode> = {
  ENOENT: 'NOT_FOUND',
  EACCES: 'AUTH',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  ABORT_ERR: 'ABORTED',
};

/** Message fragments of ssh2 / ssh2-sftp-client for a connection that is gone or never came up. */
const UNAVAILABLE_TEXT = /no response from server|unexpected (end|close) event|not connected|no sftp connection|timed out|connection lost|socket|keepalive|channel open failure|refused|reset/i;
const AUTH_TEXT = /authentication methods failed|permission denied|cannot parse privatekey|encrypted private key detected|bad passphrase/i;
const SPACE_TEXT = /no space left|quota exceeded|disk full/i;

/**
 * Converts an ssh2 / ssh2-sftp-client error into a StorageError naming the
 * target and the operation. Client errors carry either an SFTP status number,
 * an errno string, or only a message; all three are looked at.
 */
export function fromSftpError(target: string, err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { code?: unknown; level?: unknown; message?: unknown; name?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  let code: StorageErrorCode | undefined;
  if (typeof e?.code === 'number') code = SFTP_STATUS[e.code];
  else if (typeof e?.code === 'string') code = ERRNO[e.code];
  if (!code && networkErrorCode(err)) code = 'UNAVAILABLE';
  if (e?.name === 'AbortError') code = 'ABORTED';
  if (!code && e?.level === 'client-authentication') code = 'AUTH';
  if (!code && (e?.level === 'client-socket' || e?.level === 'client-timeout')) code = 'UNAVAILABLE';
  if (!code && SPACE_TEXT.test(message)) code = 'NO_SPACE';
  if (!code && AUTH_TEXT.test(message)) code = 'AUTH';
  if (!code && UNAVAILABLE_TEXT.test(message)) code = 'UNAVAILABLE';
  return new StorageError(code ?? 'UNKNOWN', target, `${what}: ${message}`, { cause: err });
}
