import type { Readable } from 'node:stream';
import type { Capabilities, ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../adapter.js';

/**
 * Base for wrappers: forwards every call to the inner adapter. A wrapper
 * overrides only what it changes, and implements the same interface, so
 * wrappers stack in any order.
 */
export class DelegatingAdapter implements StorageAdapter {
  constructor(protected readonly inner: StorageAdapter) {}
  get name(): string { return this.inner.name; }
  get capabilities(): Capabilities { return this.inner.capabilities; }
  put(key: string, body: PutBody, options?: OpOptions): Promise<number> { return this.inner.put(key, body, options); }
  get(key: string, options?: OpOptions): Promise<Readable> { return this.inner.get(key, options); }
  stat(key: string, options?: OpOptions): Promise<ObjectInfo> { return this.inner.stat(key, options); }
  list(prefix: string, options?: OpOptions): Promise<ObjectInfo[]> { return this.inner.list(prefix, options); }
  remove(key: string, options?: OpOptions): Promise<void> { return this.inner.remove(key, options); }
  get setLatest() { return this.inner.setLatest?.bind(this.inner); }
  get freeSpace() { return this.inner.freeSpace?.bind(this.inner); }
  get localPath() { return this.inner.localPath?.bind(this.inner); }
  get listUnfinished() { return this.inner.listUnfinished?.bind(this.inner); }
  get abortUnfinished() { return this.inner.abortUnfinished?.bind(this.inner); }
  get absent() { return this.inner.absent?.bind(this.inner); }
  get probe() { return this.inner.probe?.bind(this.inner); }
  async close(): Promise<void> { await this.inner.close?.(); }
}
