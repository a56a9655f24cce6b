/**
 * Archive and manifest naming (README: The archive). Everything that decides whether
 * a stored object belongs to a job goes through here, so retention can never
 * touch a file that does not match `<job>-<timestamp>`.
 */
export const MANIFEST_SUFFIX = '.manifest.json';

/**
 * How far in the future an archive's timestamp may be (clock skew between
 * hosts, a clock that stepped) before it is reported and no longer counts as
 * the newest archive or as `latest` (README: The archive).
 */
export const FUTURE_SKEW_MS = 60 * 60 * 1000;
/** An archive file (`.incr` for an incremental one), or (with no suffix) a tree snapshot directory (`format: tree`). */
const ARCHIVE_RE = /^([a-z0-9][a-z0-9._-]{0,63})-(\d{8}T\d{6}Z)(?:(\.incr)?\.tar\.gz(\.age)?)?$/;

export interface ArchiveName {
  job: string;
  name: string;
  created: Date;
  encrypted: boolean;
  /** Named `….incr.tar.gz[.age]`: it holds only what changed since its parent. */
  incremental?: boolean;
}

/** `<job>-<UTC YYYYMMDDTHHMMSSZ>.tar.gz[.age]`, or `….incr.tar.gz[.age]` for an incremental archive. */
export function archiveName(job: string, created: Date, encrypted: boolean, incremental = false): string {
  const ts = created.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${job}-${ts}${incremental ? '.incr' : ''}.tar.gz${encrypted ? '.age' : ''}`;
}

/** `<job>-<UTC YYYYMMDDTHHMMSSZ>`: the directory of one tree snapshot (`format: tree`). */
export function snapshotName(job: string, created: Date): string {
  return archiveName(job, created, false).slice(0, -'.tar.gz'.length);
}

/** True for a tree snapshot's name (`<job>-<timestamp>`, no suffix). */
export function isSnapshotName(name: string): boolean {
  return ARCHIVE_RE.test(name) && !name.endsWith('.tar.gz') && !name.endsWith('.age');
}

export function manifestKey(archive: string): string {
  return archive + MANIFEST_SUFFIX;
}

export function latestKey(job: string, encrypted: boolean): string {
  return `${job}-latest.tar.gz${encrypted ? '.age' : ''}`;
}

/** Parses an archive name of exactly this job; anything else returns undefined. */
export function parseArchiveName(key: string, job: string): ArchiveName | undefined {
  const m = ARCHIVE_RE.exec(key);
  if (!m || m[1] !== job) return undefined;
  const t = m[2]!;
  const created = new Date(
    `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`,
  );
  if (Number.isNaN(created.getTime())) return undefined;
  return { job, name: key, created, encrypted: m[4] !== undefined, ...(m[3] ? { incremental: true } : {}) };
}

/** The job named in an archive file name (`<job>-<timestamp>…`), or undefined when it is not an archive name. */
export function jobOfArchive(key: string): string | undefined {
  return ARCHIVE_RE.exec(key)?.[1];
}

/** True when `created` lies more than FUTURE_SKEW_MS after `now`. */
export function isDatedInFuture(created: Date, now: Date): boolean {
  return created.getTime() - now.getTime() > FUTURE_SKEW_MS;
}
