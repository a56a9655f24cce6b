import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { encryptStream, type ResolvedEncryption } from '../pipeline/encrypt.js';
import { HashStream } from '../util/hash-stream.js';
import { SpoolFile } from '../util/spool-file.js';
import { INDEX_FORMAT, indexKey, type IndexEntry, type IndexHeader, type IndexRef } from './format.js';

/** A finished sidecar on local disk, ready to be stored beside its archive on every target. */
export interface IndexFile extends IndexRef {
  /** The local file holding exactly the stored bytes. */
  path: string;
}

/**
 * Builds one archive's index sidecar while the archive is written. Lines go
 * to a spool file in `dir` as entries arrive (bounded memory, whatever the
 * entry count); `finish()` then compresses (and encrypts) the spool into the
 * sidecar file. `remove()` deletes both (idempotent).
 */
export class IndexWriter {
  private readonly spool: SpoolFile;
  private readonly out: string;

  constructor(dir: string, private readonly header: Omit<IndexHeader, 'format'>, private readonly encryption?: ResolvedEncryption) {
    this.spool = new SpoolFile(join(dir, 'index-entries.jsonl'));
    this.out = join(dir, indexKey(header.archive));
    this.spool.append(JSON.stringify({ format: INDEX_FORMAT, ...header }) + '\n');
  }

  add(entry: IndexEntry): void {
    this.spool.append(JSON.stringify(entry) + '\n');
  }

  /** Writes the sidecar: gzip, then age with the archive's recipients when it is encrypted. */
  async finish(): Promise<IndexFile> {
    this.spool.flush();
    const gzip = createGzip({ level: 6 });
    const hasher = new HashStream();
    const written = pipeline(createReadStream(this.spool.path), gzip);
    const stored = this.encryption ? await encryptStream(gzip, this.encryption) : gzip;
    await Promise.all([written, pipeline(stored, hasher, createWriteStream(this.out, { mode: 0o600 }))]);
    this.spool.remove();
    return { name: indexKey(this.header.archive), size: hasher.bytes, sha256: hasher.digest(), path: this.out };
  }

  async remove(): Promise<void> {
    this.spool.remove();
    await rm(this.out, { force: true });
  }
}
