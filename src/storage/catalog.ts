import type { ObjectInfo, OpOptions, StorageAdapter } from './adapter.js';
import { describeError } from '../errors.js';
import { MANIFEST_SUFFIX, parseArchiveName, type ArchiveName } from './layout.js';

export interface StoredArchive extends ArchiveName {
  size: number;
  /** When the object was stored, as the backend reports it. */
  modified: Date;
  /** The manifest exists: the archive is committed. */
  complete: boolean;
}

export interface Catalog {
  /** Committed archives of this job, oldest first. */
  complete: StoredArchive[];
  /** Archives of this job without a manifest (interrupted pushes), oldest first. */
  incomplete: StoredArchive[];
  /** Manifests of this job whose archive is gone. */
  orphanManifests: string[];
}

/**
 * Reads a target's listing and sorts this job's objects into complete and
 * incomplete archives. Objects that do not match `<job>-<timestamp>` are
 * ignored entirely, so nothing downstream can touch them.
 */
export async function readCatalog(adapter: StorageAdapter, job: string, options?: OpOptions): Promise<Catalog> {
  const objects = await adapter.list(`${job}-`, options);
  return buildCatalog(objects, job);
}

export function buildCatalog(objects: ObjectInfo[], job: string): Catalog {
  const keys = new Set(objects.map((o) => o.key));
  const complete: StoredArchive[] = [];
  const incomplete: StoredArchive[] = [];
  const orphanManifests: string[] = [];
  for (const o of objects) {
    if (o.key.endsWith(MANIFEST_SUFFIX)) {
      const archive = o.key.slice(0, -MANIFEST_SUFFIX.length);
      if (parseArchiveName(archive, job) && !keys.has(archive)) orphanManifests.push(o.key);
      continue;
    }
    const parsed = parseArchiveName(o.key, job);
    if (!parsed) continue;
    const entry: StoredArchive = {
      ...parsed,
      size: o.size,
      modified: o.modified,
      complete: keys.has(o.key + MANIFEST_SUFFIX),
    };
    (entry.complete ? complete : incomplete).push(entry);
  }
  const byTime = (a: StoredArchive, b: StoredArchive) => a.created.getTime() - b.created.getTime() || a.name.localeCompare(b.name);
  complete.sort(byTime);
  incomplete.sort(byTime);
  return { complete, incomplete, orphanManifests };
}

/** What `ferry list` and `GET /api/archives` report for one target. */
export interface TargetListing {
  target: string;
  archives: { name: string; size: number; created: string; encrypted: boolean }[];
  incomplete: number;
  /** Set when the target could not be read; the other fields are then empty. */
  error?: string;
}

/**
 * Lists one target's complete archives (oldest first). `withAdapter` opens
 * the target, runs the callback and may close it afterwards. A failure to
 * open or read it is reported in `error`, never thrown.
 */
export async function listTarget(
  name: string,
  job: string,
  withAdapter: (fn: (adapter: StorageAdapter) => Promise<Catalog>) => Promise<Catalog>,
  options?: OpOptions,
): Promise<TargetListing> {
  try {
    const c = await withAdapter((adapter) => readCatalog(adapter, job, options));
    return {
      target: name,
      archives: c.complete.map((a) => ({ name: a.name, size: a.size, created: a.created.toISOString(), encrypted: a.encrypted })),
      incomplete: c.incomplete.length,
    };
  } catch (err) {
    return { target: name, archives: [], incomplete: 0, error: describeError(err) };
  }
}
