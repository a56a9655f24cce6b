import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { ApiConfig } from '../../config/service.js';
import { UsageError } from '../../errors.js';

/** Splits `HOST:PORT` (IPv6 in brackets). A bad value is a usage error. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen: expected HOST:PORT, got "${listen}"`);
  return { host: m[1] ?? m[2]!, port };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * The token requests must carry, or undefined when the API runs without
 * authentication. That is only allowed on a loopback address with
 * `api.insecure_no_auth: true`; otherwise a missing token refuses to start
 * (UsageError).
 */
export function requiredToken(api: Partial<ApiConfig> | undefined, host: string): string | undefined {
  if (api?.token) return api.token;
  if (api?.insecure_no_auth && isLoopback(host)) return undefined;
  if (api?.insecure_no_auth) throw new UsageError(`api.insecure_no_auth only works on a loopback address, not ${host}; set api.token or api.token_file`);
  throw new UsageError('ferry serve needs api.token or api.token_file (or api.insecure_no_auth: true on a loopback address)');
}

/**
 * Compares an `Authorization` header with `Bearer <token>` in constant time:
 * both sides are hashed first, so neither the length nor the content of the
 * token leaks through timing.
 */
export function authorized(header: string | undefined, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${token}`));
}
