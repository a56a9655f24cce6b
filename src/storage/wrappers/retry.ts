import type { Readable } from 'node:stream';
import type { ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../adapter.js';
import { isRetryable } from '../errors.js';
import { DelegatingAdapter } from './delegate.js';

export interface RetryOptions {
  /** Extra attempts after the first. */
  retries: number;
  /** Delay before the first retry; doubles each time, with jitter. */
  baseDelayMs?: number;
  onRetry?(what: string, attempt: number, err: unknown): void;
}

/**
 * Repeats calls that fail with a retryable StorageError, with exponential
 * backoff. A put is repeated only when its body is replayable: a live stream
 * cannot be read twice. Aborts are never retried.
 */
export class RetryAdapter extends DelegatingAdapter {
  constructor(inner: StorageAdapter, private readonly opts: RetryOptions) {
    super(inner);
  }

  private async attempt<T>(what: string, fn: () => Promise<T>, options: OpOptions | undefined, canRetry = true): Promise<T> {
    const base = this.opts.baseDelayMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!canRetry || attempt >= this.opts.retries || !isRetryable(err) || options?.signal?.aborted) throw err;
        this.opts.onRetry?.(what, attempt + 1, err);
        const delay = base * 2 ** attempt * (0.75 + Math.random() * 0.5);
        await sleep(delay, options?.signal);
      }
    }
  }

  override put(key: string, body: PutBody, options?: OpOptions): Promise<number> {
    return this.attempt(`put ${key}`, () => this.inner.put(key, body, options), options, body.replayable);
  }
  override get(key: string, options?: OpOptions): Promise<Readable> {
    return this.attempt(`get ${key}`, () => this.inner.get(key, options), options);
  }
  override stat(key: string, options?: OpOptions): Promise<ObjectInfo> {
    return this.attempt(`stat ${key}`, () => this.inner.stat(key, options), options);
  }
  override list(prefix: string, options?: OpOptions): Promise<ObjectInfo[]> {
    return this.attempt('list', () => this.inner.list(prefix, options), options);
  }
  override remove(key: string, options?: OpOptions): Promise<void> {
    return this.attempt(`remove ${key}`, () => this.inner.remove(key, options), options);
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(t); reject(signal?.reason); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
