/**
 * The index sidecar (README: Looking inside archives): `<archive>.index.jsonl.gz`,
 * or `<archive>.index.jsonl.gz.age` beside an encrypted archive (age-encrypted to
 * the same recipients or passphrase). Gzip-compressed JSON lines: a header line
 * `{ format, job, archive }`, then one line per archive entry in archive order.
 */
export const INDEX_FORMAT = 'ferry-index/1';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** One archive entry as the sidecar lists it. */
export interface IndexEntry {
  /** Path inside the archive, no trailing slash; a name that is not valid UTF-8 shows U+FFFD here. */
  path: string;
  /** base64 of the exact path bytes; only when the path is not valid UTF-8. */
  path_b64?: string;
  type: EntryType;
  /** Content bytes (0 for directories and links). */
  size: number;
  /** Permission bits, setuid/setgid/sticky included (a number; `0o755` is 493). */
  mode: number;
  /** ISO 8601; absent when the archive records no usable time. */
  mtime?: string;
  /** Content sha256 (files only). */
  sha256?: string;
  /** Link target (symlinks and hard links). */
  link?: string;
}

export interface IndexHeader {
  format: typeof INDEX_FORMAT;
  job: string;
  archive: string;
}

const SUFFIX = '.index.jsonl.gz';

/** The sidecar's name beside `archive`. */
export function indexKey(archive: string): string {
  return archive.endsWith('.age') ? `${archive}${SUFFIX}.age` : `${archive}${SUFFIX}`;
}

/** What the manifest records about the sidecar, so a reader can check it before trusting it. */
export interface IndexRef {
  name: string;
  size: number;
  sha256: string;
}

/** The entry's path as shown and matched: directories get a trailing slash, as `ls -p` does. */
export function shownPath(e: Pick<IndexEntry, 'path' | 'type'>): string {
  return e.type === 'dir' ? `${e.path}/` : e.path;
}

/** `ls -l`-style permissions: `drwxr-xr-x`, with s/S and t/T for setuid, setgid and sticky. */
export function modeString(e: Pick<IndexEntry, 'type' | 'mode'>): string {
  const kind = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', other: '?' }[e.type];
  const m = e.mode;
  const bit = (mask: number, c: string) => (m & mask ? c : '-');
  const special = (x: number, s: number, lower: string) => {
    const exec = (m & x) !== 0;
    if (m & s) return exec ? lower : lower.toUpperCase();
    return exec ? 'x' : '-';
  };
  return kind
    + bit(0o400, 'r') + bit(0o200, 'w') + special(0o100, 0o4000, 's')
    + bit(0o040, 'r') + bit(0o020, 'w') + special(0o010, 0o2000, 's')
    + bit(0o004, 'r') + bit(0o002, 'w') + special(0o001, 0o1000, 't');
}
