import pLimit, { type LimitFunction } from 'p-limit';
import type { Readable } from 'node:stream';
import type { ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../adapter.js';
import { DelegatingAdapter } from './delegate.js';

/** Caps the number of calls in flight on one target (`concurrency`, or the adapter's `maxConcurrency`). */
export class LimitAdapter extends DelegatingAdapter {
  private readonly limit: LimitFunction;
  constructor(inner: StorageAdapter, concurrency: number) {
    super(inner);
    this.limit = pLimit(concurrency);
  }
  override put(key: string, body: PutBody, options?: OpOptions): Promise<number> { return this.limit(() => this.inner.put(key, body, options)); }
  override get(key: string, options?: OpOptions): Promise<Readable> { return this.limit(() => this.inner.get(key, options)); }
  override stat(key: string, options?: OpOptions): Promise<ObjectInfo> { return this.limit(() => this.inner.stat(key, options)); }
  override list(prefix: string, options?: OpOptions): Promise<ObjectInfo[]> { return this.limit(() => this.inner.list(prefix, options)); }
  override remove(key: string, options?: OpOptions): Promise<void> { return this.limit(() => this.inner.remove(key, options)); }
}
