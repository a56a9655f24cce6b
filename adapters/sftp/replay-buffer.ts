/**
 * The tail of an upload kept in memory: the bytes from `start` to `end` of
 * the stream, in the chunks they were sent in. It holds at least every byte
 * the server has not confirmed yet, and beyond that up to `limit` bytes of
 * confirmed ones, so an upload can resume from a server whose partial file
 * ends a little before what it had confirmed.
 */
export class ReplayBuffer {
  private chunks: { at: number; data: Buffer }[] = [];
  /** Stream offset of the oldest byte held. */
  start = 0;
  /** Stream offset just past the newest byte held (the bytes read so far). */
  end = 0;

  constructor(readonly limit: number) {}

  get held(): number {
    return this.end - this.start;
  }

  /** Appends the next bytes of the stream; returns the offset they start at. */
  push(data: Buffer): number {
    const at = this.end;
    this.chunks.push({ at, data });
    this.end += data.length;
    return at;
  }

  /** Drops the oldest chunks while more than `limit` bytes are held, but never a byte at or after `confirmed`. */
  trim(confirmed: number): void {
    while (this.held > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      if (first.at + first.data.length > confirmed) return;
      this.chunks.shift();
      this.start = first.at + first.data.length;
    }
  }

  /** The held bytes from stream offset `offset` (at least `start`) to the end, in chunks. */
  *from(offset: number): Generator<{ at: number; data: Buffer }> {
    for (const c of this.chunks) {
      const endOf = c.at + c.data.length;
      if (endOf <= offset) continue;
      yield c.at >= offset ? c : { at: offset, data: c.data.subarray(offset - c.at) };
    }
  }
}
