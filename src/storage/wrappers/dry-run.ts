import type { OpOptions, PutBody, StorageAdapter, UnfinishedUpload } from '../adapter.js';
import type { Logger } from '../../log.js';
import { DelegatingAdapter } from './delegate.js';

/**
 * Reads pass through; writes and deletes are only logged. A put still reads
 * its whole body, so a dry run measures the real archive size.
 */
export class DryRunAdapter extends DelegatingAdapter {
  constructor(inner: StorageAdapter, private readonly log: Logger) {
    super(inner);
  }
  override async put(key: string, body: PutBody, options?: OpOptions): Promise<number> {
    let bytes = 0;
    for await (const chunk of body.open()) {
      if (options?.signal?.aborted) throw options.signal.reason;
      bytes += (chunk as Buffer).length;
    }
    this.log.info(`[dry run] ${this.name}: would store ${key} (${bytes} bytes)`);
    return bytes;
  }
  override async remove(key: string): Promise<void> {
    this.log.info(`[dry run] ${this.name}: would delete ${key}`);
  }
  override get abortUnfinished() {
    if (!this.inner.abortUnfinished) return undefined;
    return async (upload: UnfinishedUpload) => this.log.info(`[dry run] ${this.name}: would abort the unfinished upload of ${upload.key}`);
  }
  /** Nothing was stored, so there is no local copy to read. */
  override get localPath() {
    return undefined;
  }
  override get setLatest() {
    if (!this.inner.setLatest) return undefined;
    return async (latest: string, key: string) => this.log.info(`[dry run] ${this.name}: would point ${latest} at ${key}`);
  }
}
