import { closeSync, createReadStream, openSync, readSync, rmSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

const FLUSH_AT = 1 << 20;

/**
 * An append-only temporary text file that takes the place of a long list in
 * memory (a million-file inventory, the hashes of a million files). Appends
 * are buffered and written synchronously in blocks of about 1 MiB, so the
 * hot path makes no per-item syscall or async round trip. `bytes` is the
 * exact size of everything appended so far, flushed or not. Once appends are
 * done, `flush()` it and read it back with `lines()` or `range()`; `remove()`
 * closes and deletes it (idempotent, never throws).
 */
export class SpoolFile {
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  bytes = 0;

  /** Creates (or truncates) the file at `path`; throws naming the path when it cannot. */
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w+', 0o600);
    } catch (err) {
      throw new Error(`cannot create temporary file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  }

  append(text: string): void {
    const n = Buffer.byteLength(text);
    this.pending.push(text);
    this.pendingBytes += n;
    this.bytes += n;
    if (this.pendingBytes >= FLUSH_AT) this.flush();
  }

  /** Writes out everything appended so far. */
  flush(): void {
    if (this.pendingBytes === 0 || this.fd === undefined) return;
    const buf = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    let at = 0;
    while (at < buf.length) at += writeSync(this.fd, buf, at, buf.length - at);
  }

  /** The bytes in [start, end) as a stream (call `flush()` first). */
  range(start: number, end: number): Readable {
    return createReadStream(this.path, { start, end: end - 1, highWaterMark: 256 * 1024 });
  }

  /** Every line appended (without its "\n"), in order, read back in blocks of `blockSize` bytes (call `flush()` first). */
  *lines(blockSize = FLUSH_AT): Generator<string> {
    if (this.fd === undefined) return;
    const buf = Buffer.allocUnsafe(blockSize);
    let pos = 0;
    let rest = '';
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      // Lines hold ASCII only (base64 and hex), so a block boundary never splits a character.
      const text = rest + buf.toString('latin1', 0, n);
      const parts = text.split('\n');
      rest = parts.pop()!;
      yield* parts;
    }
    if (rest) yield rest;
  }

  remove(): void {
    if (this.fd !== undefined) {
      try { closeSync(this.fd); } catch { /* already closed */ }
      this.fd = undefined;
    }
    rmSync(this.path, { force: true });
  }
}
