import { type ListedEntry, listArchive } from '../../index/ls.js';
import { modeString, shownPath } from '../../index/format.js';
import { decryptKeys } from '../../restore/keys.js';
import { parseArchiveName } from '../../storage/layout.js';
import { parseAt } from '../../restore/select.js';
import { EXIT } from '../../exit-codes.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../format.js';
import { streamedOutput } from '../streamed.js';

export interface LookFlags {
  from?: string;
  at?: string;
  identity?: string[];
}

/**
 * `ferry ls [ARCHIVE] [PATH]`: one directory of an archive (default: the
 * newest archive, its top), from its index sidecar. A single argument that
 * is neither `latest` nor an archive name of the job is the PATH.
 */
export async function lsCommand(ctx: CommandContext, first: string | undefined, second: string | undefined, opts: LookFlags & { recursive?: boolean }): Promise<number> {
  const config = ctx.config();
  let which = first;
  let path = second;
  if (first !== undefined && second === undefined && first !== 'latest' && !parseArchiveName(first, config.job)) {
    which = undefined;
    path = first;
  }
  const out = streamedOutput(Boolean(ctx.options.json), 'entries');
  const result = await listArchive(
    config,
    { which: which ?? 'latest', from: opts.from, at: opts.at ? parseAt(opts.at) : undefined, path, recursive: opts.recursive },
    { keys: decryptKeys(config, opts.identity), log: ctx.log, signal: ctx.signal },
    (e) => out.item(e, entryLine(e)),
  );
  ctx.log.debug(`${result.archive} on ${result.target}${result.readFrom === 'archive' ? ' (read from the archive: it has no index sidecar)' : ''}: ${result.entries} entries`);
  out.end({ archive: result.archive, target: result.target, path: result.path, read_from: result.readFrom });
  return EXIT.OK;
}

/** `drwxr-xr-x  4.0 KiB  2026-11-22T03:15:00Z  app/data/`: the path is the full archive path, as `restore --only` takes it. */
export function entryLine(e: ListedEntry): string {
  const mode = e.implied ? 'd?????????' : modeString(e);
  const size = e.type === 'dir' ? '-' : formatBytes(e.size);
  const time = e.mtime ? e.mtime.replace(/\.\d{3}Z$/, 'Z') : '-'.padEnd(20);
  const link = e.link !== undefined ? ` -> ${printable(e.link)}` : '';
  return `${mode}  ${size.padStart(10)}  ${time}  ${printable(shownPath(e))}${link}`;
}

/** A name as printed: itself, or JSON-quoted when it holds control characters (a newline would break the line). */
export function printable(name: string): string {
  return /[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name;
}
