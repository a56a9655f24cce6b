/**
 * Archive and manifest naming (SPEC §3, §4). Everything that decides whether
 * a stored object belongs to a job goes through here, so retention can never
 * touch a file that does not match `<job>-<timestamp>`.
 */
export const MANIFEST_SUFFIX = '.manifest.json';
const ARCHIVE_RE = /^([a-z0-9][a-z0-9._-]{0,63})-(\d{8}T\d{6}Z)\.tar\.gz(\.age)?$/;

export interface ArchiveName {
  job: string;
  name: string;
  created: Date;
  encrypted: boolean;
}

/** `<job>-<UTC YYYYMMDDTHHMMSSZ>.tar.gz[.age]` */
export function archiveName(job: string, created: Date, encrypted: boolean): string {
  const ts = created.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${job}-${ts}.tar.gz${encrypted ? '.age' : ''}`;
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
  return { job, name: key, created, encrypted: m[3] !== undefined };
}
