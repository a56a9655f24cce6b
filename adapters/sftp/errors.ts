import { StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import { networkErrorCode } from '../../src/storage/network-errors.js';

/**
 * SFTP status codes as ssh2 reports them in `err.code` (a number): v3
 * (draft-ietf-secsh-filexfer-02) plus the later ones some v3 servers send
 * anyway. FAILURE (4) is left out: OpenSSH sends it for a full disk and for
 * much else, so the adapter asks statvfs before it calls that NO_SPACE.
 */
const SFTP_STATUS: Record<number, StorageErrorCode> = {
  2: 'NOT_FOUND', // NO_SUCH_FILE
  3: 'AUTH', // PERMISSION_DENIED
  6: 'UNAVAILABLE', // NO_CONNECTION
  7: 'UNAVAILABLE', // CONNECTION_LOST
  10: 'NOT_FOUND', // NO_SUCH_PATH
  11: 'EXISTS', // FILE_ALREADY_EXISTS
  12: 'AUTH', // WRITE_PROTECT
  14: 'NO_SPACE', // NO_SPACE_ON_FILESYSTEM
  15: 'NO_SPACE', // QUOTA_EXCEEDED
};

/** errno strings, for errors raised on this side (the socket, a local file). */
const ERRNO: Record<string, StorageErrorCode> = {
  ENOENT: 'NOT_FOUND',
  EACCES: 'AUTH',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  ABORT_ERR: 'ABORTED',
};

/**
 * ssh2's `err.level` for failures before a session exists: the socket, a
 * timeout (login or keepalive), a connection that closed before or during
 * the handshake, a refused login. A refused host key and a refused SFTP
 * subsystem are told apart where the connection is made.
 */
const LEVEL: Record<string, StorageErrorCode> = {
  'client-socket': 'UNAVAILABLE',
  'client-timeout': 'UNAVAILABLE',
  'client-dns': 'UNAVAILABLE',
  protocol: 'UNAVAILABLE',
  'client-authentication': 'AUTH',
};

/**
 * Converts an ssh2 error into a StorageError naming the target and the
 * operation, from the SFTP status number, the errno string, the network
 * code anywhere in the `cause` chain, or ssh2's failure level; never from the
 * message text. Anything else is UNKNOWN.
 */
export function fromSftpError(target: string, err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { code?: unknown; level?: unknown; message?: unknown; name?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  let code: StorageErrorCode | undefined;
  if (e?.name === 'AbortError') code = 'ABORTED';
  else if (typeof e?.code === 'number') code = SFTP_STATUS[e.code];
  else if (typeof e?.code === 'string') code = ERRNO[e.code];
  if (!code && networkErrorCode(err)) code = 'UNAVAILABLE';
  if (!code && typeof e?.level === 'string') code = LEVEL[e.level];
  return new StorageError(code ?? 'UNKNOWN', target, `${what}: ${message}`, { cause: err });
}
