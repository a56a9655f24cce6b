import type { Readable } from 'node:stream';
import { InventoryParser, type ListedFile } from '../restore/inventory-stream.js';

/**
 * The previous snapshot's inventory entries of one source, read as a stream
 * (never the whole list in memory) and looked up in walk order. The walk
 * visits each directory before its contents and siblings in byte order, so
 * its order is the component-wise byte order of paths (`pathOrder`); both
 * walks use it, so one forward pass over the old entries answers every
 * lookup of the new walk. An entry the old walk did not have (or an
 * unreadable inventory) is simply not found: the file is then copied.
 */
export class PreviousEntries {
  private readonly entries: AsyncIterator<ListedFile>;
  private current: ListedFile | undefined;
  private started = false;
  private done = false;

  constructor(open: () => Promise<Readable>, private readonly as: string) {
    this.entries = readEntries(open, as);
  }

  /** The old entry for `path` (exact bytes), or undefined. Paths must be asked in walk order. */
  async lookup(path: Buffer): Promise<ListedFile | undefined> {
    while (!this.done) {
      if (!this.started || !this.current) {
        this.started = true;
        await this.advance();
        continue;
      }
      const order = pathOrder(entryBytes(this.current), path);
      if (order === 0) return this.current;
      if (order > 0) return undefined;
      await this.advance();
    }
    return undefined;
  }

  private async advance(): Promise<void> {
    try {
      const next = await this.entries.next();
      this.current = next.done ? undefined : next.value;
      if (next.done) this.done = true;
    } catch {
      this.current = undefined;
      this.done = true;
    }
  }

  /** Stops reading (idempotent). */
  async close(): Promise<void> {
    this.done = true;
    await this.entries.return?.().catch(() => {});
  }

  get source(): string {
    return this.as;
  }
}

/** The entries of source `as` in inventory.json, in order, parsed as they stream by (InventoryParser). */
async function* readEntries(open: () => Promise<Readable>, as: string): AsyncGenerator<ListedFile> {
  const stream = await open();
  const found: ListedFile[] = [];
  const parser = new InventoryParser((file) => {
    if (file.path === as || file.path.startsWith(`${as}/`)) found.push(file);
  });
  try {
    for await (const chunk of stream) {
      parser.write(chunk as Buffer);
      yield* found.splice(0);
    }
    parser.end();
    yield* found.splice(0);
  } finally {
    stream.destroy();
  }
}

function entryBytes(f: ListedFile): Buffer {
  return f.path_b64 ? Buffer.from(f.path_b64, 'base64') : Buffer.from(f.path);
}

/** Component-wise byte order of two `/`-separated paths: the order `walkSource` visits entries in. */
export function pathOrder(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    // A separator ends a component: the shorter component sorts first.
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}
