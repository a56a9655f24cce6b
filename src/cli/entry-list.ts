import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { StoredEntry } from '../pipeline/tar-writer.js';

const NEWLINE = Buffer.from('\n');
const DIR_NEWLINE = Buffer.from('/\n');

/**
 * Prints one archive path per line (directories with a trailing slash, names
 * that are not valid UTF-8 as their exact bytes) as the archive is built.
 * When `out` is full, the returned promise holds the archive back until it
 * drains, so the listing never piles up in memory.
 */
export function entryLister(out: Writable): (entry: StoredEntry) => Promise<void> | undefined {
  return (entry) => {
    const path = entry.rawPath ?? Buffer.from(entry.path);
    const ok = out.write(Buffer.concat([path, entry.type === 'dir' ? DIR_NEWLINE : NEWLINE]));
    return ok ? undefined : once(out, 'drain').then(() => {});
  };
}
