import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../src/log.js';
import { abortedError, isStorageError, StorageError } from '../../src/storage/errors.js';

/** First wait after a lost connection; it doubles with each failed attempt, up to `MAX_BACKOFF_MS`. */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 20_000;
/** By default an upload gives up once the server has received nothing new for this long. */
export const DEFAULT_RESUME_TIMEOUT_MS = 5 * 60_000;

/**
 * The retry rule of one rsync upload: a step that fails with a retryable
 * error (the connection was lost or refused) is tried again after a backoff
 * of 1 s, doubling up to 20 s, until the server has received nothing new for
 * `timeoutMs`: the clock starts at a failure and stops at `progressed()`. Any
 * other error, and an abort (also during a wait), ends the upload at once.
 */
export class ResumeLoop {
  private failures = 0;
  private failingSince: number | undefined;

  constructor(
    private readonly target: string,
    private readonly what: string,
    private readonly options: { timeoutMs: number; log: Logger; signal?: AbortSignal },
  ) {}

  /** Runs `step` until it succeeds; `attempt` counts from 0. Rethrows as described above. */
  async run<T>(step: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step(attempt);
      } catch (err) {
        await this.pause(err);
      }
    }
  }

  /** The server holds more of the upload than before: the backoff and the clock start over. */
  progressed(): void {
    this.failures = 0;
    this.failingSince = undefined;
  }

  private async pause(err: unknown): Promise<void> {
    const { timeoutMs, log, signal } = this.options;
    if (!isStorageError(err) || !err.retryable || signal?.aborted || timeoutMs === 0) throw err;
    this.failingSince ??= Date.now();
    if (Date.now() - this.failingSince >= timeoutMs) {
      // Starting over would not help: the retry wrapper must not send the whole file again.
      const last = err.message.replace(/^target "[^"]*" \[\w+\]: /, '');
      throw new StorageError(err.code, this.target, `${this.what}: the server received nothing new for ${timeoutMs / 1000} s, giving up; last error: ${last}`, { cause: err, retryable: false });
    }
    const wait = Math.min(FIRST_BACKOFF_MS * 2 ** this.failures++, MAX_BACKOFF_MS);
    log.debug(`${this.target}: ${this.what}: ${err.message}; trying again in ${wait / 1000} s`);
    try {
      await delay(wait, undefined, { signal });
    } catch {
      throw abortedError(this.target, signal, this.what);
    }
  }
}
