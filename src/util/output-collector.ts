import { StringDecoder } from 'node:string_decoder';

/** Accumulates a child's output stream: an optional capped copy, a rolling tail, and line callbacks. */
export class OutputCollector {
  private chunks: Buffer[] = [];
  private size = 0;
  private tail = Buffer.alloc(0);
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  truncated = false;

  /**
   * `cap`: bytes kept for `text()` (0 keeps none); `onLine`: called with each
   * complete line, without its newline; `tailBytes`: the last bytes kept for `tailText()`.
   */
  constructor(private readonly cap: number, private readonly onLine?: (line: string) => void, private readonly tailBytes = 0) {}

  push(b: Buffer): void {
    if (this.cap > 0) {
      const room = this.cap - this.size;
      if (room > 0) {
        const part = b.length > room ? b.subarray(0, room) : b;
        this.chunks.push(part);
        this.size += part.length;
      }
      if (b.length > room) this.truncated = true;
    }
    if (this.tailBytes > 0) {
      const joined = Buffer.concat([this.tail, b]);
      this.tail = joined.length > this.tailBytes ? joined.subarray(joined.length - this.tailBytes) : joined;
    }
    if (this.onLine) {
      const lines = (this.partial + this.decoder.write(b)).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line.replace(/\r$/, ''));
    }
  }

  /** Hands a trailing partial line to the callback. */
  flush(): void {
    if (this.onLine) this.partial += this.decoder.end();
    if (this.onLine && this.partial) this.onLine(this.partial);
    this.partial = '';
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  tailText(): string {
    return this.tail.toString('utf8');
  }
}
