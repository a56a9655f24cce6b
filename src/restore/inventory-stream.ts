import { JSONParser } from '@streamparser/json';
import type { InventorySummary } from '../pipeline/inventory.js';

/** One file entry of inventory.json as read back; `path_b64` holds the exact bytes of a name that is not valid UTF-8. */
export interface ListedFile {
  path: string;
  path_b64?: string;
  size?: number;
  sha256: string;
  /** In an incremental archive's inventory: the archive that holds the file's bytes. */
  archive?: string;
}

/** The members of inventory.json kept in the summary; `sources[i].entries` is streamed instead, and other members are dropped. */
const TOP: readonly (keyof InventorySummary)[] = ['format', 'job', 'host', 'os', 'ferry_version', 'started', 'ended', 'warnings', 'unreadable', 'commands'];
const SOURCE: readonly (keyof InventorySummary['sources'][number])[] = ['as', 'kind', 'origin', 'files', 'bytes', 'meta', 'resolved', 'excludes'];

/**
 * Reads inventory.json as it streams by, without ever holding its file list:
 * each `sources[i].entries[j]` goes to `onEntry` as soon as it is parsed and
 * is then dropped, so memory depends on the size of one entry, not on the
 * file count. What `end()` returns is the inventory without its entries.
 * `write` and `end` throw on anything that is not one JSON object.
 */
export class InventoryParser {
  private readonly parser: JSONParser;
  private readonly summary: Record<string, unknown> & { sources: Record<string, unknown>[] } = { sources: [] };
  /** The document's first byte that is not white space, once seen. */
  private first: number | undefined;

  constructor(onEntry: (file: ListedFile, source: number) => void = () => {}) {
    this.parser = new JSONParser({
      paths: [...TOP.map((k) => `$.${k}`), ...SOURCE.map((k) => `$.sources.*.${k}`), '$.sources.*.entries.*'],
      keepStack: false,
    });
    this.parser.onValue = ({ value, key, stack }) => {
      // stack[2].key is the index of the source a value belongs to.
      if (stack.length === 1) this.summary[key as string] = value;
      else if (stack.length === 3) (this.summary.sources[stack[2]!.key as number] ??= {})[key as string] = value;
      else if (isPlainObject(value)) onEntry(value as unknown as ListedFile, stack[2]!.key as number);
    };
  }

  write(chunk: Buffer): void {
    if (this.first === undefined) {
      const at = chunk.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
      if (at !== -1) this.first = chunk[at];
    }
    this.parser.write(chunk);
  }

  end(): InventorySummary {
    if (!this.parser.isEnded) this.parser.end();
    if (this.first !== 0x7b) throw new Error('it is not a JSON object');
    this.summary.sources = Array.from(this.summary.sources, (s) => s ?? {});
    return this.summary as unknown as InventorySummary;
  }
}

/** Parses a whole inventory.json stream (see InventoryParser); throws naming `what` when it is not valid. */
export async function parseInventory(chunks: AsyncIterable<Buffer>, what: string, onEntry?: (file: ListedFile, source: number) => void): Promise<InventorySummary> {
  const parser = new InventoryParser(onEntry);
  try {
    for await (const chunk of chunks) parser.write(chunk);
    return parser.end();
  } catch (err) {
    throw new Error(`${what} is not a readable inventory: ${(err as Error).message}`, { cause: err });
  }
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
