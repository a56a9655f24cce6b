/**
 * Pulls bytes from an async iterator of chunks (a Readable) in the sizes a
 * tar reader needs: whole 512-byte blocks for headers, and slices of the
 * chunks as they came for file data, so content is never copied or held
 * beyond the chunk being handed on. Backpressure is the stream's own: no
 * more is read than the consumer asks for.
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private ended = false;
  /** Bytes consumed so far (the position in the plain tar stream). */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else if (next.value.length) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /** Exactly `n` bytes, copied; fewer only when the input ends first. */
  async read(n: number): Promise<Buffer> {
    const out = await this.peek(n);
    this.advance(out.length);
    return out;
  }

  /** Like `read`, without consuming. */
  async peek(n: number): Promise<Buffer> {
    await this.fill(n);
    const out = Buffer.allocUnsafe(Math.min(n, this.buffered));
    let at = 0;
    for (let i = 0, from = this.head; at < out.length; i++, from = 0) {
      at += this.chunks[i]!.copy(out, at, from, Math.min(this.chunks[i]!.length, from + out.length - at));
    }
    return out;
  }

  /** Between 1 and `n` bytes as a slice of the input (not a copy); empty only at the end of input. */
  async some(n: number): Promise<Buffer> {
    if (this.buffered === 0) await this.fill(1);
    if (this.buffered === 0) return Buffer.alloc(0);
    const chunk = this.chunks[0]!;
    const out = chunk.subarray(this.head, this.head + Math.min(n, chunk.length - this.head));
    this.advance(out.length);
    return out;
  }

  /** The next `n` bytes as a slice of the input, consumed, when they are already in memory in one chunk; otherwise undefined (nothing consumed). */
  inChunk(n: number): Buffer | undefined {
    const chunk = this.chunks[0];
    if (!chunk || chunk.length - this.head < n) return undefined;
    const out = chunk.subarray(this.head, this.head + n);
    this.advance(n);
    return out;
  }

  /** Consumes `n` bytes; false when the input ended first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      const got = await this.some(n);
      if (!got.length) return false;
      n -= got.length;
    }
    return true;
  }

  /** Reads and discards the rest of the input (so whatever checks the stream as a whole sees every byte). */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.ended) if ((await this.source.next()).done) this.ended = true;
  }

  private advance(k: number): void {
    this.offset += k;
    this.buffered -= k;
    this.head += k;
    while (this.chunks.length && this.head >= this.chunks[0]!.length) {
      this.head -= this.chunks[0]!.length;
      this.chunks.shift();
    }
  }
}
