import { abortedError, StorageError } from '../../src/storage/errors.js';
import { sleep } from '../../src/storage/wrappers/retry.js';

/** First wait before reconnecting; it doubles up to MAX_DELAY_MS and starts over after progress. */
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

/** How long an interrupted upload keeps trying by default (the `resume_timeout` option of sftp and rsync). */
export const DEFAULT_RESUME_TIMEOUT_MS = 120_000;

/**
 * Waits between reconnection attempts of the SSH adapters. It gives up once
 * `timeoutMs` have passed since the first failure after the last progress
 * (so a long transfer that fails late still gets its full time to resume),
 * and ends a wait at once when `signal` fires.
 */
export class Backoff {
  private delay = FIRST_DELAY_MS;
  private since: number | undefined;

  constructor(private readonly target: string, private readonly timeoutMs: number, private readonly signal?: AbortSignal) {}

  /** The work moved on: the next failure starts a fresh outage. */
  progressed(): void {
    this.delay = FIRST_DELAY_MS;
    this.since = undefined;
  }

  /**
   * Sleeps before the next attempt after `failure` (a retryable error while
   * doing `what`). Rejects with UNAVAILABLE (caused by `failure`) when the
   * time is up, or with ABORTED when the signal fires.
   */
  async wait(failure: StorageError, what: string): Promise<void> {
    if (this.signal?.aborted) throw abortedError(this.target, this.signal, what);
    if (this.timeoutMs === 0) throw failure;
    this.since ??= Date.now();
    if (Date.now() - this.since > this.timeoutMs) {
      throw new StorageError('UNAVAILABLE', this.target, `${what}: gave up resuming after ${Math.round(this.timeoutMs / 1000)} s without progress (${failure.message})`, { cause: failure });
    }
    await sleep(this.delay, this.signal).catch(() => { throw abortedError(this.target, this.signal, what); });
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
  }
}
