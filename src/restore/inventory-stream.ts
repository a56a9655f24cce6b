import { StringDecoder } from 'node:string_decoder';
import { JSONParser } from '@streamparser/json';
import { ENTRY_INDENT, type InventorySummary } from '../pipeline/inventory.js';

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

/** A partial line longer than this goes to the JSON parser as it is, so a document without newlines stays bounded too. */
const MAX_LINE = 1 << 20;
const ENTRIES_OPEN = '      "entries": [';
const ENTRY_LEAD = `${ENTRY_INDENT}{`;

/**
 * Reads inventory.json as it streams by, without ever holding its file list:
 * each `sources[i].entries[j]` goes to `onEntry` as soon as it is parsed and
 * is then dropped, so memory depends on the size of one entry, not on the
 * file count. What `end()` returns is the inventory without its entries.
 * `write` and `end` throw on anything that is not one JSON object.
 *
 * Ferry writes each entry as one line (ENTRY_INDENT, the entry, a comma);
 * inside an `entries` array such lines are parsed with JSON.parse, several
 * times faster than the streaming parser, which gets every other line (so
 * it sees an empty array there and still checks the rest of the document).
 * A document laid out otherwise simply goes through the streaming parser.
 */
export class InventoryParser {
  private readonly parser: JSONParser;
  private readonly summary: Record<string, unknown> & { sources: Record<string, unknown>[] } = { sources: [] };
  private readonly decoder = new StringDecoder('utf8');
  /** The document's first character that is not white space, once seen. */
  private first: string | undefined;
  /** The unfinished last line; undefined while a too-long line is being passed straight to the parser. */
  private partial: string | undefined = '';
  private inEntries = false;
  /** The index of the source whose members the parser saw last. */
  private source = 0;

  constructor(private readonly onEntry: (file: ListedFile, source: number) => void = () => {}) {
    this.parser = new JSONParser({
      paths: [...TOP.map((k) => `$.${k}`), ...SOURCE.map((k) => `$.sources.*.${k}`), '$.sources.*.entries.*'],
      keepStack: false,
    });
    this.parser.onValue = ({ value, key, stack }) => {
      // stack[2].key is the index of the source a value belongs to.
      if (stack.length === 1) this.summary[key as string] = value;
      else if (stack.length === 3) {
        this.source = stack[2]!.key as number;
        (this.summary.sources[this.source] ??= {})[key as string] = value;
      } else if (isPlainObject(value)) onEntry(value as unknown as ListedFile, stack[2]!.key as number);
    };
  }

  write(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    if (this.first === undefined) {
      const m = /[^ \n\r\t]/.exec(text);
      if (m) this.first = m[0];
    }
    let at = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', at)) {
      if (this.partial === undefined) this.parser.write(text.slice(at, nl + 1));
      else this.line(this.partial + text.slice(at, nl));
      this.partial = '';
      at = nl + 1;
    }
    const rest = text.slice(at);
    if (this.partial === undefined) this.parser.write(rest);
    else if (this.partial.length + rest.length > MAX_LINE) {
      this.parser.write(this.partial + rest);
      this.partial = undefined;
    } else this.partial += rest;
  }

  /** One whole line, without its newline. */
  private line(line: string): void {
    if (this.inEntries && line.startsWith(ENTRY_LEAD)) {
      let value: unknown;
      try {
        value = JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line);
      } catch {
        value = undefined;
      }
      if (isPlainObject(value)) {
        this.onEntry(value as ListedFile, this.source);
        return;
      }
    }
    this.parser.write(`${line}\n`);
    if (line === ENTRIES_OPEN) this.inEntries = true;
    else if (this.inEntries && !line.startsWith(ENTRY_INDENT)) this.inEntries = false;
  }

  end(): InventorySummary {
    const rest = (this.partial ?? '') + this.decoder.end();
    if (rest) this.parser.write(rest);
    if (!this.parser.isEnded) this.parser.end();
    if (this.first !== '{') throw new Error('it is not a JSON object');
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
