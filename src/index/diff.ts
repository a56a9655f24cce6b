import type { LoadedConfig } from '../config/load.js';
import { withArchive, type ArchiveQuery } from '../restore/locate.js';
import type { SortedSpool } from '../util/sorted-spool.js';
import type { IndexEntry } from './format.js';
import { archiveEntries, type ReadEntriesOptions } from './read.js';
import { sortLine, splitSortLine, withSpools } from './spool.js';

/** What differs about a path present in both archives. */
export type Difference = 'type' | 'content' | 'link' | 'mode' | 'mtime';

export type DiffItem =
  | { change: 'added'; entry: IndexEntry }
  | { change: 'removed'; entry: IndexEntry }
  /** `content`, `type` or `link` in `what` means the data differs; `mode`/`mtime` alone means only metadata does. */
  | { change: 'changed'; what: Difference[]; from: IndexEntry; to: IndexEntry };

export interface DiffSummary {
  from: { archive: string; target: string };
  to: { archive: string; target: string };
  added: number;
  removed: number;
  changed: number;
}

/**
 * Compares two archives entry by entry (README: Looking inside archives),
 * from their index sidecars (or the archives, for ones made without a
 * sidecar). Both lists are sorted on disk and merged, so memory does not
 * grow with the entry count; `onItem` gets every difference in path order.
 */
export async function diffArchives(
  config: LoadedConfig,
  a: ArchiveQuery,
  b: ArchiveQuery,
  options: ReadEntriesOptions,
  onItem: (item: DiffItem) => void,
): Promise<DiffSummary> {
  return withSpools(config, 'diff', 2, async ([left, right]) => {
    const from = await spoolArchive(config, a, options, left!);
    const to = await spoolArchive(config, b, options, right!);
    const summary: DiffSummary = { from, to, added: 0, removed: 0, changed: 0 };
    for (const item of mergeSorted(left!, right!)) {
      summary[item.change]++;
      onItem(item);
    }
    return summary;
  });
}

async function spoolArchive(config: LoadedConfig, query: ArchiveQuery, options: ReadEntriesOptions, spool: SortedSpool) {
  return withArchive(config, query, options, async ({ target, manifest }) => {
    for await (const e of archiveEntries(target, manifest, options)) spool.add(sortLine(e.path_b64 ?? e.path, e));
    return { archive: manifest.archive, target: target.name };
  });
}

/** Walks both sorted lists side by side; of several entries under one path the last counts, as in a restore. */
function* mergeSorted(left: SortedSpool, right: SortedSpool): Generator<DiffItem> {
  const l = lastPerKey(left.sorted());
  const r = lastPerKey(right.sorted());
  let x = l.next();
  let y = r.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.key < y.value.key)) {
      yield { change: 'removed', entry: x.value!.v };
      x = l.next();
    } else if (x.done || y.value.key < x.value.key) {
      yield { change: 'added', entry: y.value.v };
      y = r.next();
    } else {
      const what = differences(x.value.v, y.value.v);
      if (what.length) yield { change: 'changed', what, from: x.value.v, to: y.value.v };
      x = l.next();
      y = r.next();
    }
  }
}

function* lastPerKey(lines: Iterable<string>): Generator<{ key: string; v: IndexEntry }> {
  let held: { key: string; v: IndexEntry } | undefined;
  for (const line of lines) {
    const next = splitSortLine<string, IndexEntry>(line);
    if (held && held.key !== next.key) yield held;
    held = next;
  }
  if (held) yield held;
}

/** How two entries of one path differ (pure). */
export function differences(a: IndexEntry, b: IndexEntry): Difference[] {
  const what: Difference[] = [];
  if (a.type !== b.type) what.push('type');
  else if (a.size !== b.size || a.sha256 !== b.sha256) what.push('content');
  if (a.type === b.type && a.link !== b.link) what.push('link');
  if (a.mode !== b.mode) what.push('mode');
  if (a.mtime !== b.mtime) what.push('mtime');
  return what;
}
