import { StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import { isNetworkCode, networkErrorCode } from '../../src/storage/network-errors.js';
import { parseRetryAfter } from './backoff.js';

/** What the error says about itself, read from a gaxios error or a raw Drive response. */
export interface DriveFailure {
  status?: number;
  /** `error.errors[0].reason` of a Drive error body (`storageQuotaExceeded`, `notFound`, ...). */
  reason?: string;
  /** `error.message` of a Drive error body, or `error` / `error_description` of an OAuth error body. */
  message?: string;
  /** OAuth token endpoint error (`invalid_grant`, `invalid_client`, ...). */
  oauthError?: string;
  /** Node / fetch error code (`ECONNREFUSED`, ...). */
  systemCode?: string;
  /** The server's `Retry-After`, in milliseconds. */
  retryAfterMs?: number;
}

const RATE_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'sharingRateLimitExceeded']);
const DAILY_REASONS = new Set(['dailyLimitExceeded', 'dailyLimitExceededUnreg', 'uploadLimitExceeded']);
const SPACE_REASONS = new Set([
  'storageQuotaExceeded',
  'quotaExceeded',
  'teamDriveFileLimitExceeded',
  'numChildrenInNonRootLimitExceeded',
  'teamDriveHierarchyTooDeep',
]);
const OAUTH_AUTH_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope', 'access_denied']);

/** Parses a Drive JSON error body (`{ error: { code, message, errors: [{ reason }] } }`) or an OAuth one. */
export function parseErrorBody(body: unknown): Pick<DriveFailure, 'reason' | 'message' | 'oauthError'> {
  let data = body;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return {};
    }
  }
  if (!data || typeof data !== 'object') return {};
  const err = (data as { error?: unknown; error_description?: unknown }).error;
  if (typeof err === 'string') {
    const desc = (data as { error_description?: unknown }).error_description;
    return { oauthError: err, message: typeof desc === 'string' ? desc : undefined };
  }
  if (!err || typeof err !== 'object') return {};
  const e = err as { message?: unknown; errors?: Array<{ reason?: unknown }> };
  const reason = e.errors?.[0]?.reason;
  return {
    reason: typeof reason === 'string' ? reason : undefined,
    message: typeof e.message === 'string' ? e.message : undefined,
  };
}

/** Reads status, reason and message out of whatever googleapis / gaxios / fetch threw. */
export function describeFailure(err: unknown): DriveFailure {
  const e = err as {
    status?: unknown;
    code?: unknown;
    response?: { status?: unknown; data?: unknown; headers?: { get?: unknown } };
    cause?: { code?: unknown };
  } | undefined;
  const status = typeof e?.response?.status === 'number' ? e.response.status : typeof e?.status === 'number' ? e.status : typeof e?.code === 'number' ? e.code : undefined;
  const data = e?.response?.data;
  const parsed = data && typeof (data as { pipe?: unknown }).pipe !== 'function' ? parseErrorBody(data) : {};
  const systemCode = networkErrorCode(err) ?? (typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined);
  const headers = e?.response?.headers;
  const retryAfterMs = typeof headers?.get === 'function' ? parseRetryAfter((headers as Headers).get('retry-after')) : undefined;
  return { status, systemCode, retryAfterMs, ...parsed };
}

/**
 * What a failed request means for an upload session: `gone` (404 / 410: the
 * session expired or was cancelled; only a new session helps), `transient`
 * (network failures, 408, 429, 5xx, rate-limit 403s: wait, ask the session
 * how much it holds, resume) or `fatal` (anything else).
 */
export function sessionFailureKind(failure: DriveFailure): 'gone' | 'transient' | 'fatal' {
  if (failure.status === 404 || failure.status === 410) return 'gone';
  return toStorageError('', '', failure).retryable ? 'transient' : 'fatal';
}

/**
 * Turns a Drive failure into a StorageError. `what` says what was being
 * done ("uploading x to folder y"); it must not contain secrets. Messages
 * are built from status codes and Drive's own reason/message only, never
 * from request details (which carry the bearer token).
 */
export function toStorageError(target: string, what: string, failure: DriveFailure, cause?: unknown): StorageError {
  const { status, reason, oauthError, systemCode } = failure;
  const detail = failure.message ? `: ${oneLine(failure.message)}` : '';
  const make = (code: StorageErrorCode, msg: string, retryable?: boolean) =>
    new StorageError(code, target, `${what}: ${msg}`, { cause, retryable });

  if (oauthError && OAUTH_AUTH_ERRORS.has(oauthError)) {
    return make('AUTH', `Google refused the credentials (${oauthError})${detail}. The refresh token may be expired or revoked, or the key deleted; create new credentials`);
  }
  if (reason && SPACE_REASONS.has(reason)) {
    return make('NO_SPACE', `Google Drive storage quota exceeded (${reason})${detail}. Free up space in the Drive (emptying the trash counts), or use an account with more storage; a service account has no storage of its own and can only write to a shared drive`);
  }
  if (reason && RATE_REASONS.has(reason)) {
    return make('RATE_LIMIT', `Google Drive rate limit exceeded (${reason})${detail}; retry later`);
  }
  if (reason && DAILY_REASONS.has(reason)) {
    return make('RATE_LIMIT', `Google Drive daily limit reached (${reason})${detail}; uploads resume when the limit resets`, false);
  }
  if (status === 429) return make('RATE_LIMIT', `Google Drive rate limit exceeded (HTTP 429)${detail}; retry later`);
  if (status === 401) return make('AUTH', `Google Drive rejected the access token (HTTP 401)${detail}. Check credentials_file`);
  if (status === 403) return make('AUTH', `permission denied (HTTP 403${reason ? `, ${reason}` : ''})${detail}. Check that the credentials can write to the folder`);
  if (status === 404) return make('NOT_FOUND', `not found (HTTP 404)${detail}`);
  if (status === 408 || (status !== undefined && status >= 500)) return make('UNAVAILABLE', `Google Drive is unavailable (HTTP ${status})${detail}`);
  if (oauthError) return make('AUTH', `the token request failed (${oauthError})${detail}`);
  if (isNetworkCode(systemCode)) {
    return make('UNAVAILABLE', `cannot reach Google Drive (${systemCode})`);
  }
  if (status !== undefined) return make('UNKNOWN', `unexpected answer (HTTP ${status}${reason ? `, ${reason}` : ''})${detail}`, false);
  const msg = err2msg(cause);
  return make('UNKNOWN', msg, false);
}

function err2msg(err: unknown): string {
  if (err instanceof Error) return oneLine(err.message);
  return 'request failed';
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/\.+$/, '').slice(0, 300);
}
