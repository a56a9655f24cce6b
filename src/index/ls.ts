import type { LoadedConfig } from '../config/load.js';
import { ArchiveNotFoundError } from '../errors.js';
import { withArchive, type ArchiveQuery } from '../restore/locate.js';
import type { IndexEntry } from './format.js';
import { archiveEntries, type EntriesSource, type ReadEntriesOptions } from './read.js';

/** An entry of a listing; `implied` marks a directory the archive holds files in but has no entry of its own for (`data/` above a SQLite source). */
export type ListedEntry = IndexEntry & { implied?: true };

export interface ListRequest extends ArchiveQuery {
  /** A directory (or file) inside the archive; "" or absent is the top. A leading `/` or `./` and trailing slashes are ignored. */
  path?: string;
  /** Everything below `path`, not only its direct children. */
  recursive?: boolean;
}

export interface ListResult {
  archive: string;
  target: string;
  path: string;
  /** `index`: read from the sidecar; `archive`: the archive has none and was read whole. */
  readFrom: EntriesSource;
  entries: number;
}

/** A path as given by a user or a URL, in the form entries carry. */
export function cleanArchivePath(path: string | undefined): string {
  return (path ?? '').split('/').filter((s) => s !== '' && s !== '.').join('/');
}

/**
 * Lists one directory of an archive (README: Looking inside archives), in
 * archive order, calling `onEntry` for each as it is read (nothing is held
 * but the names of the directory's subdirectories). `path` naming a file
 * lists that file. The archive is found as restore finds it (`which`,
 * `from`, `at`); its entries come from the index sidecar, or from the
 * archive itself when it has none. Rejects with an ArchiveNotFoundError
 * when `path` is not in the archive.
 */
export async function listArchive(
  config: LoadedConfig,
  request: ListRequest,
  options: ReadEntriesOptions,
  onEntry: (entry: ListedEntry) => void,
): Promise<ListResult> {
  const dir = cleanArchivePath(request.path);
  return withArchive(config, request, options, async ({ target, manifest }) => {
    let readFrom: EntriesSource = 'index';
    const select = directorySelector(dir, request.recursive ?? false);
    let entries = 0;
    let found = dir === '';
    for await (const entry of archiveEntries(target, manifest, options, (s) => { readFrom = s; })) {
      if (entry.path === dir || entry.path.startsWith(`${dir}/`)) found = true;
      const shown = select(entry);
      if (shown) {
        entries++;
        onEntry(shown);
      }
    }
    if (!found) throw new ArchiveNotFoundError(`${JSON.stringify(dir)} is not in ${manifest.archive} (on ${target.name})`);
    return { archive: manifest.archive, target: target.name, path: dir, readFrom, entries };
  });
}

/**
 * Decides, entry by entry in archive order, what a listing of `dir` shows:
 * a file that is `dir` itself; with `recursive`, everything below `dir`;
 * otherwise its direct children, each subdirectory once, implied by a
 * deeper entry when the archive has no entry of its own for it.
 */
export function directorySelector(dir: string, recursive: boolean): (entry: IndexEntry) => ListedEntry | undefined {
  const prefix = dir === '' ? '' : `${dir}/`;
  const shownDirs = new Set<string>();
  return (entry) => {
    if (entry.path === dir) return entry.type === 'dir' ? undefined : entry;
    if (!entry.path.startsWith(prefix)) return undefined;
    if (recursive) return entry;
    const rest = entry.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    const child = slash === -1 ? entry.path : prefix + rest.slice(0, slash);
    if (slash === -1 && entry.type !== 'dir') return entry;
    if (shownDirs.has(child)) return undefined;
    shownDirs.add(child);
    return slash === -1 ? entry : { path: child, type: 'dir', size: 0, mode: 0, implied: true };
  };
}
