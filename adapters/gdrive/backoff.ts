import { sleep } from '../../src/storage/wrappers/retry.js';

/**
 * Waiting out a transient Drive failure, the way Google's upload guide asks:
 * exponential backoff (2^n seconds plus up to a second of jitter, capped at
 * 32 s), or longer when the server sent `Retry-After`. A put gives up only
 * after `windowMs` without progress, so an outage of a minute or more is
 * ridden out; the run's abort signal ends any wait at once.
 */
export interface BackoffPolicy {
  /** First delay (default 1 s); doubles on each failure in a row. */
  baseMs: number;
  /** Longest single delay (default 32 s). */
  maxMs: number;
  /** Give up once this long has passed since the first failure without progress (default 2 min, the `resume_timeout` default). */
  windowMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 32_000, windowMs: 120_000 };

/** Time source; tests substitute a virtual one so long outages need no real waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), sleep };

/**
 * One operation's backoff state: failures in a row, and when the first of
 * them came (the window runs from there, so a long transfer that fails late
 * still gets all of it).
 */
export class Backoff {
  private failures = 0;
  private since?: number;

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF, private readonly clock: Clock = realClock) {}

  /** Marks progress (bytes confirmed, a request answered): the next failure starts a fresh window from the first delay. */
  progress(): void {
    this.failures = 0;
    this.since = undefined;
  }

  /** Seconds since the first failure without progress, for messages. */
  stalledSeconds(): number {
    return this.since === undefined ? 0 : Math.round((this.clock.now() - this.since) / 1000);
  }

  /**
   * The delay before the next attempt, or undefined when waiting it would
   * pass the window (give up). `retryAfterMs` is the server's own request.
   */
  next(retryAfterMs?: number): number | undefined {
    const exp = Math.min(this.policy.baseMs * 2 ** this.failures + Math.random() * Math.min(1000, this.policy.baseMs), this.policy.maxMs);
    const delay = Math.max(exp, retryAfterMs ?? 0);
    this.since ??= this.clock.now();
    if (this.clock.now() + delay - this.since > this.policy.windowMs) return undefined;
    this.failures++;
    return delay;
  }

  /** Sleeps `ms` on this backoff's clock. Rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.clock.sleep(ms, signal);
  }

  /** Waits the next delay; false when the window is used up. Rejects when `signal` aborts. */
  async wait(retryAfterMs: number | undefined, signal?: AbortSignal): Promise<boolean> {
    const delay = this.next(retryAfterMs);
    if (delay === undefined) return false;
    await this.clock.sleep(delay, signal);
    return true;
  }
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
