import { networkErrorCode } from './network-errors.js';

/**
 * One error family for every storage target. Adapters convert SDK and system
 * errors into a StorageError at their boundary; the core only ever looks at
 * `code` and `retryable`, never at message text.
 */
export type StorageErrorCode =
  | 'NOT_FOUND'
  /** The object already exists; a put never replaces an archive or manifest. */
  | 'EXISTS'
  | 'AUTH'
  | 'NO_SPACE'
  | 'UNAVAILABLE'
  | 'NOT_MOUNTED'
  | 'WRONG_DEVICE'
  | 'HOST_KEY'
  | 'RATE_LIMIT'
  | 'CORRUPT'
  | 'ABORTED'
  | 'CONFIG'
  | 'UNKNOWN';

/** Codes that may succeed when the same call is repeated a little later. */
const RETRYABLE: ReadonlySet<StorageErrorCode> = new Set(['UNAVAILABLE', 'RATE_LIMIT']);

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly target: string;
  readonly retryable: boolean;

  constructor(
    code: StorageErrorCode,
    target: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(`target "${target}" [${code}]: ${message}`, { cause: options.cause });
    this.name = 'StorageError';
    this.code = code;
    this.target = target;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

export function isNotFound(err: unknown): boolean {
  return isStorageError(err, 'NOT_FOUND');
}

/** True for errors the retry wrapper may repeat. Anything that is not a StorageError is permanent. */
export function isRetryable(err: unknown): boolean {
  return err instanceof StorageError && err.retryable;
}

/**
 * The one way to build an ABORTED StorageError: `what` names the operation
 * (default "operation"), and the signal's reason, when there is one, is the cause.
 */
export function abortedError(target: string, signal?: AbortSignal, what = 'operation'): StorageError {
  return new StorageError('ABORTED', target, `${what} aborted`, { cause: signal?.reason });
}

const ERRNO_CODES: Record<string, StorageErrorCode> = {
  ENOENT: 'NOT_FOUND',
  EEXIST: 'EXISTS',
  ENOTDIR: 'NOT_FOUND',
  EACCES: 'AUTH',
  EPERM: 'AUTH',
  EROFS: 'AUTH',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EFBIG: 'NO_SPACE',
  EIO: 'UNAVAILABLE',
  EBUSY: 'UNAVAILABLE',
  ABORT_ERR: 'ABORTED',
};

/** Converts a Node system error (errno code) into a StorageError naming the target and the path. */
export function fromSystemError(target: string, err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const code = ERRNO_CODES[errno] ?? (networkErrorCode(err) ? 'UNAVAILABLE' : 'UNKNOWN');
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError(code, target, `${what}: ${detail}`, { cause: err });
}
