import pLimit, { type LimitFunction } from 'p-limit';
import { finished, type Readable } from 'node:stream';
import type { ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../adapter.js';
import { DelegatingAdapter } from './delegate.js';

/**
 * Caps the number of calls in flight on one target (`concurrency`, or the
 * adapter's `maxConcurrency`). A `get` holds its slot for the whole life of
 * the stream it returns, until that stream ends, fails or is destroyed, so a
 * slow reader counts against the limit as long as it keeps the download open.
 */
export class LimitAdapter extends DelegatingAdapter {
  private readonly limit: LimitFunction;
  constructor(inner: StorageAdapter, concurrency: number) {
    super(inner);
    this.limit = pLimit(concurrency);
  }
  override put(key: string, body: PutBody, options?: OpOptions): Promise<number> { return this.limit(() => this.inner.put(key, body, options)); }
  override get(key: string, options?: OpOptions): Promise<Readable> {
    return new Promise<Readable>((resolve, reject) => {
      void this.limit(async () => {
        let stream: Readable;
        try {
          stream = await this.inner.get(key, options);
        } catch (err) {
          reject(err);
          return;
        }
        const released = new Promise<void>((done) => finished(stream, { readable: true, writable: false }, () => done()));
        resolve(stream);
        await released;
      });
    });
  }
  override stat(key: string, options?: OpOptions): Promise<ObjectInfo> { return this.limit(() => this.inner.stat(key, options)); }
  override list(prefix: string, options?: OpOptions): Promise<ObjectInfo[]> { return this.limit(() => this.inner.list(prefix, options)); }
  override remove(key: string, options?: OpOptions): Promise<void> { return this.limit(() => this.inner.remove(key, options)); }
}
