import { closeSync, createReadStream, openSync, readSync, rmSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

const FLUSH_AT = 1 << 20;

/**
 * An append-only temporary text file that takes the place of a long list in
 * memory (a million-file inventory, the hashes of a million files). Appends
 * are copied into one reused 1 MiB buffer, written synchronously whenever it
 * fills, so the hot path makes no per-item syscall or async round trip, and
 * the appended strings die young instead of waiting in a list for the
 * write. `bytes` is the exact size of everything appended so far, flushed or
 * not. Once appends are done, `flush()` it (which also lets the buffer go)
 * and read it back with `lines()` or `range()`; `remove()` closes and
 * deletes it (idempotent, never throws).
 */
export class SpoolFile {
  private fd: number | undefined;
  private buffer: Buffer | undefined;
  private used = 0;
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
    const buffer = (this.buffer ??= Buffer.allocUnsafeSlow(FLUSH_AT));
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most lines fit without measuring them first.
    if (text.length * 3 > buffer.length - this.used) {
      const n = Buffer.byteLength(text);
      if (n > buffer.length - this.used) this.writeOut();
      if (n > buffer.length) {
        this.writeAll(Buffer.from(text));
        this.bytes += n;
        return;
      }
    }
    const n = buffer.write(text, this.used);
    this.used += n;
    this.bytes += n;
  }

  /** Writes out everything appended so far and lets the buffer go (appending again takes a new one). */
  flush(): void {
    this.writeOut();
    this.buffer = undefined;
  }

  private writeOut(): void {
    if (this.used === 0 || !this.buffer) return;
    this.writeAll(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  private writeAll(buf: Buffer): void {
    if (this.fd === undefined) return;
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
    this.buffer = undefined;
    this.used = 0;
    if (this.fd !== undefined) {
      try { closeSync(this.fd); } catch { /* already closed */ }
      this.fd = undefined;
    }
    rmSync(this.path, { force: true });
  }
}
