/**
 * Collects the tar bytes of small entries in one buffer, so the stream sees
 * few, large chunks and a small file's content is read straight into the
 * place it goes, with no per-file buffer and no copy. A buffer is handed out
 * once it holds `size` bytes (or the next entry does not fit); it is never
 * written again after that.
 */
export class TarBatch {
  private buf: Buffer;
  private used = 0;
  private readonly full: Buffer[] = [];

  constructor(private readonly size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for `n` more bytes, starting at the returned offset of `buffer`; nothing counts until `commit`. */
  reserve(n: number): number {
    if (this.buf.length - this.used < n) {
      this.handOver();
      if (this.buf.length < n) this.buf = Buffer.allocUnsafe(Math.max(n, this.size));
    }
    return this.used;
  }

  /** The buffer `reserve` gave room in. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Keeps the `n` bytes written at the reserved offset. */
  commit(n: number): void {
    this.used += n;
    if (this.used >= this.size) this.handOver();
  }

  /** Appends a whole block (a directory's or symlink's header). */
  append(block: Buffer): void {
    const at = this.reserve(block.length);
    block.copy(this.buf, at);
    this.commit(block.length);
  }

  /** The buffers filled so far, in order; `all` also hands over the one being filled. */
  take(all = false): Buffer[] {
    if (all) this.handOver();
    return this.full.splice(0);
  }

  private handOver(): void {
    if (this.used === 0) return;
    this.full.push(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(this.size);
    this.used = 0;
  }
}
