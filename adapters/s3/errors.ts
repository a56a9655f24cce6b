import { StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import { networkErrorCode } from '../../src/storage/network-errors.js';

/** S3 error names (the `Code` of the XML error, or the SDK's class name) and what they mean to Ferry. */
const BY_NAME: Record<string, StorageErrorCode> = {
  NoSuchKey: 'NOT_FOUND',
  NotFound: 'NOT_FOUND',
  PreconditionFailed: 'EXISTS',
  ConditionalRequestConflict: 'EXISTS',
  NoSuchBucket: 'CONFIG',
  InvalidBucketName: 'CONFIG',
  PermanentRedirect: 'CONFIG',
  AuthorizationHeaderMalformed: 'CONFIG',
  AccessDenied: 'AUTH',
  AllAccessDisabled: 'AUTH',
  InvalidAccessKeyId: 'AUTH',
  SignatureDoesNotMatch: 'AUTH',
  ExpiredToken: 'AUTH',
  InvalidToken: 'AUTH',
  TokenRefreshRequired: 'AUTH',
  AccountProblem: 'AUTH',
  CredentialsProviderError: 'AUTH',
  EntityTooLarge: 'NO_SPACE',
  QuotaExceeded: 'NO_SPACE',
  StorageQuotaExceeded: 'NO_SPACE',
  XMinioStorageFull: 'NO_SPACE',
  SlowDown: 'RATE_LIMIT',
  TooManyRequests: 'RATE_LIMIT',
  TooManyRequestsException: 'RATE_LIMIT',
  RequestLimitExceeded: 'RATE_LIMIT',
  InternalError: 'UNAVAILABLE',
  ServiceUnavailable: 'UNAVAILABLE',
  RequestTimeout: 'UNAVAILABLE',
  RequestTimeTooSkewed: 'CONFIG',
  TimeoutError: 'UNAVAILABLE',
  AbortError: 'ABORTED',
};

function byStatus(status: number | undefined): StorageErrorCode | undefined {
  if (status === undefined) return undefined;
  if (status === 401 || status === 403) return 'AUTH';
  if (status === 404) return 'NOT_FOUND';
  if (status === 412) return 'EXISTS';
  if (status === 429) return 'RATE_LIMIT';
  if (status === 507) return 'NO_SPACE';
  if (status >= 500) return 'UNAVAILABLE';
  return undefined;
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** What went wrong, where, for people: the target, the bucket or endpoint, the operation. */
export interface ErrorContext {
  /** The operation and object, e.g. `uploading s3://bucket/key`. */
  what: string;
  bucket: string;
  /** The endpoint as shown to users (no credentials in it), or `AWS S3`. */
  endpoint: string;
  /** Strings that must never appear in a message (secret keys). */
  redact: readonly string[];
}

/**
 * Converts anything the SDK throws into a StorageError with the target's
 * name. The original is kept as `cause`; the message names the bucket or the
 * endpoint and never contains a secret.
 */
export function fromS3Error(target: string, err: unknown, ctx: ErrorContext): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode;
  const errno = networkErrorCode(err);
  const code: StorageErrorCode =
    (errno ? 'UNAVAILABLE' : undefined) ??
    (e.name ? BY_NAME[e.name] : undefined) ??
    byStatus(status) ??
    'UNKNOWN';
  const detail = describe(e, status);
  let message: string;
  if (errno) {
    message = `${ctx.what}: cannot reach ${ctx.endpoint} (${errno})`;
  } else if (e.name === 'NoSuchBucket') {
    message = `${ctx.what}: bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}`;
  } else if (e.name === 'CredentialsProviderError') {
    message = `${ctx.what}: no credentials found; set access_key_id and secret_access_key, or configure the AWS default credential chain`;
  } else if (code === 'AUTH') {
    message = `${ctx.what}: access denied by ${ctx.endpoint} (${detail}); check the access key and the bucket policy`;
  } else {
    message = `${ctx.what}: ${detail}`;
  }
  return new StorageError(code, target, scrub(message, ctx.redact), { cause: err });
}

function describe(e: SdkErrorLike, status: number | undefined): string {
  const name = e.name && e.name !== 'Error' ? e.name : undefined;
  const text = e.message && e.message !== name && e.message !== 'UnknownError' ? e.message : undefined;
  const parts = [name, text].filter(Boolean).join(': ');
  const withStatus = status !== undefined ? `${parts || 'error'} (HTTP ${status})` : parts;
  return withStatus || 'unknown error';
}

/** Replaces every occurrence of each secret with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** The endpoint for messages: scheme, host and path only (userinfo and query dropped). */
export function displayEndpoint(endpoint: string | undefined, region: string): string {
  if (!endpoint) return `AWS S3 (${region})`;
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'the configured endpoint';
  }
}
