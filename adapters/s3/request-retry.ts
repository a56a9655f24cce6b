import type { Logger } from '../../src/log.js';
import { isRetryable, type StorageError } from '../../src/storage/errors.js';
import { sleep } from '../../src/storage/wrappers/retry.js';

/** Default time one request of an upload keeps being retried through an outage. */
export const DEFAULT_RETRY_WINDOW_SECONDS = 300;
/** First pause after a failure; it doubles on each further failure. */
const BASE_DELAY_MS = 500;
/** Longest pause between two attempts when the server names none. */
const MAX_DELAY_MS = 15_000;

export interface RequestRetryOptions {
  /**
   * How long after its first failure a request keeps being repeated. Zero
   * means one attempt only. The last pause is shortened so that a final
   * attempt is made at the end of the window.
   */
  windowMs: number;
  /** Ends the waiting at once: the pending pause rejects with the signal's reason. */
  signal: AbortSignal;
  /** Turns what the request threw into a StorageError; only retryable ones (UNAVAILABLE, RATE_LIMIT) are repeated. */
  convert(err: unknown): StorageError;
  /** Called before each pause with the attempt that failed (1-based), the pause and the error. */
  onRetry?(failedAttempt: number, delayMs: number, err: StorageError): void;
}

/**
 * Runs `request` until it succeeds, fails with an error that is not
 * retryable, the window closes or the signal aborts. Between attempts it
 * waits the server's `Retry-After` when the failure carried one (seconds or
 * an HTTP date), else an exponential backoff with jitter capped at 15 s.
 * Rejects with the converted error of the last attempt (or the signal's
 * reason when aborted while waiting).
 */
export async function withRequestRetry<T>(request: () => Promise<T>, opts: RequestRetryOptions): Promise<T> {
  let deadline: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (raw) {
      const err = opts.convert(raw);
      if (opts.signal.aborted || !isRetryable(err)) throw err;
      deadline ??= Date.now() + opts.windowMs;
      const left = deadline - Date.now();
      if (left <= 0) throw err;
      const delay = Math.min(left, retryAfterMs(raw) ?? backoffMs(attempt));
      opts.onRetry?.(attempt, delay, err);
      await sleep(delay, opts.signal);
    }
  }
}

/** The pause after the `failedAttempt`-th failure when the server asked for none: 0.5 s, 1 s, 2 s, ... up to 15 s, ±25 %. */
export function backoffMs(failedAttempt: number): number {
  const plain = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (failedAttempt - 1));
  return Math.round(plain * (0.75 + Math.random() * 0.5));
}

/** The `Retry-After` of the HTTP response behind an SDK error, in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const headers = (err as { $response?: { headers?: Record<string, string | undefined> } } | undefined)?.$response?.headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The retries of one upload: every request goes through `run`, which
 * retries it (see `withRequestRetry`), logs each retry as a warning and
 * counts it, and remembers it until it settles, so a failed upload can wait
 * until nothing of it is left on the wire (`settled`).
 */
export class UploadRetries {
  /** Retries so far, over all requests of the upload. */
  retried = 0;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly opts: {
    windowMs: number;
    signal: AbortSignal;
    log: Logger;
    /** Converts an error of the request named `request`. */
    convert(err: unknown, request: string): StorageError;
  }) {}

  run<T>(request: string, send: () => Promise<T>): Promise<T> {
    const p = withRequestRetry(send, {
      windowMs: this.opts.windowMs,
      signal: this.opts.signal,
      convert: (err) => this.opts.convert(err, request),
      onRetry: (attempt, delay, err) => {
        this.retried++;
        this.opts.log.warn(`${err.message}; resuming in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1})`);
      },
    });
    this.inflight.add(p);
    void p.catch(() => {}).finally(() => this.inflight.delete(p));
    return p;
  }

  /** Resolves once every request started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}
