import pLimit from 'p-limit';
import type { ObjectInfo, OpOptions, StorageAdapter } from './adapter.js';
import { describeError } from '../errors.js';
import { isNotFound } from './errors.js';
import { isDatedInFuture, MANIFEST_SUFFIX, parseArchiveName, type ArchiveName } from './layout.js';
import { ForeignManifestError, readManifest } from './manifest-read.js';

/** Manifests read at once while a catalog is built. */
const MANIFEST_READS = 4;

export interface StoredArchive extends ArchiveName {
  size: number;
  /** When the object was stored, as the backend reports it. */
  modified: Date;
  /** The manifest exists: the archive is committed. */
  complete: boolean;
  /** From the manifest of an incremental archive (read by `readCatalog`): the archive it builds on, and its level. */
  parent?: string;
  level?: number;
  /** The run's `--description`, from the manifest (complete archives only). */
  description?: string;
  /** From the manifest: `tree` for a snapshot directory (`format: tree`); absent for an archive file. */
  layout?: 'tree';
}

/** An archive named like this job's whose manifest belongs to another archive or job, or is not a ferry manifest. */
export interface ForeignArchive extends StoredArchive {
  /** Why its manifest does not count, for humans. */
  reason: string;
}

export interface Catalog {
  /** Committed archives of this job (a manifest bound to them), oldest first. */
  complete: StoredArchive[];
  /** Archives of this job without a manifest (interrupted pushes), oldest first. */
  incomplete: StoredArchive[];
  /**
   * Archives named like this job's whose manifest is not bound to them
   * (README: The archive), oldest first. Nothing restores, selects or prunes them.
   */
  foreign: ForeignArchive[];
  /** Manifests of this job whose archive is gone. */
  orphanManifests: string[];
}

/**
 * Reads a target's listing and sorts this job's objects into complete,
 * incomplete and foreign archives. Objects that do not match
 * `<job>-<timestamp>` are ignored entirely, so nothing downstream can touch
 * them. Every manifest beside an archive is read (see `readManifest`): only
 * one whose `archive` is that file's name and whose `job` is this job makes
 * the archive complete; any other makes it foreign. A manifest that vanished
 * since the listing leaves its archive incomplete. Rejects when the listing
 * or a manifest cannot be read for any other reason, so nothing is planned
 * from half a catalog.
 */
export async function readCatalog(adapter: StorageAdapter, job: string, options?: OpOptions): Promise<Catalog> {
  const objects = await adapter.list(`${job}-`, options);
  const listed = buildCatalog(objects, job);
  const limit = pLimit(MANIFEST_READS);
  const checked = await Promise.all(listed.complete.map((a) => limit(async (): Promise<StoredArchive | ForeignArchive> => {
    try {
      const m = await readManifest(adapter, a.name, options?.signal);
      if (m.level === undefined && m.description === undefined && m.layout === undefined) return a;
      return {
        ...a,
        ...(m.level !== undefined ? { level: m.level } : {}),
        ...(m.parent ? { parent: m.parent } : {}),
        ...(m.description !== undefined ? { description: m.description } : {}),
        ...(m.layout === 'tree' ? { layout: m.layout } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return { ...a, complete: false };
      if (err instanceof ForeignManifestError) return { ...a, complete: false, reason: err.reason };
      throw err;
    }
  })));
  const complete = checked.filter((a) => a.complete);
  const foreign = checked.filter((a): a is ForeignArchive => 'reason' in a);
  const incomplete = [...listed.incomplete, ...checked.filter((a) => !a.complete && !('reason' in a))].sort(byTime);
  return { complete, incomplete, foreign, orphanManifests: listed.orphanManifests };
}

/**
 * Sorts a listing by names alone (pure): an archive counts as complete here
 * when a manifest of that name exists. `readCatalog` then reads those
 * manifests; use this only where their content does not matter.
 */
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
  complete.sort(byTime);
  incomplete.sort(byTime);
  return { complete, incomplete, foreign: [], orphanManifests };
}

/** Archives dated more than an hour after `now` (README: The archive): reported, never the newest nor `latest`. */
export function datedInFuture<T extends { created: Date }>(archives: readonly T[], now: Date): T[] {
  return archives.filter((a) => isDatedInFuture(a.created, now));
}

/** The newest complete archive that is not dated in the future, or undefined. */
export function newestComplete(c: Catalog, now: Date): StoredArchive | undefined {
  return c.complete.filter((a) => !isDatedInFuture(a.created, now)).at(-1);
}

function byTime(a: StoredArchive, b: StoredArchive): number {
  return a.created.getTime() - b.created.getTime() || a.name.localeCompare(b.name);
}

/** What `ferry list` and `GET /api/archives` report for one target. */
export interface TargetListing {
  target: string;
  /** Complete archives, oldest first; `future` marks one dated more than an hour ahead. */
  /** `layout: 'tree'` marks a snapshot directory (`format: tree`), as its manifest says. */
  archives: { name: string; size: number; created: string; encrypted: boolean; future?: true; level?: number; parent?: string; description?: string; layout?: 'tree' }[];
  incomplete: number;
  /** Archives whose manifest does not belong to them; never restored or pruned. */
  foreign: { name: string; size: number; reason: string }[];
  /** One line per thing the operator should look at (foreign archives, archives dated in the future). */
  warnings: string[];
  /** Set when the target could not be read; the other fields are then empty. */
  error?: string;
}

/**
 * Lists one target's complete archives (oldest first). `withAdapter` opens
 * the target, runs the callback and may close it afterwards. A failure to
 * open or read it is reported in `error`, never thrown. Archives dated more
 * than an hour after `now` and foreign archives are listed with a warning.
 */
export async function listTarget(
  name: string,
  job: string,
  withAdapter: (fn: (adapter: StorageAdapter) => Promise<Catalog>) => Promise<Catalog>,
  options?: OpOptions,
  now: Date = new Date(),
): Promise<TargetListing> {
  try {
    const c = await withAdapter((adapter) => readCatalog(adapter, job, options));
    return {
      target: name,
      archives: c.complete.map((a) => ({
        name: a.name, size: a.size, created: a.created.toISOString(), encrypted: a.encrypted,
        ...(a.description !== undefined ? { description: a.description } : {}),
        ...(isDatedInFuture(a.created, now) ? { future: true as const } : {}),
        ...(a.level !== undefined ? { level: a.level } : {}),
        ...(a.parent ? { parent: a.parent } : {}),
        ...(a.layout ? { layout: a.layout } : {}),
      })),
      incomplete: c.incomplete.length,
      foreign: c.foreign.map((a) => ({ name: a.name, size: a.size, reason: a.reason })),
      warnings: catalogWarnings(c, now),
    };
  } catch (err) {
    return { target: name, archives: [], incomplete: 0, foreign: [], warnings: [], error: describeError(err) };
  }
}

/** The lines `list`, `check` and `prune` print about a catalog: archives dated in the future and foreign archives. */
export function catalogWarnings(c: Catalog, now: Date): string[] {
  return [
    ...datedInFuture(c.complete, now).map((a) =>
      `${a.name} is dated in the future (${a.created.toISOString()}, now ${now.toISOString()}): it is not used as the newest archive or as latest, and prune keeps it; check the clock of the host that made it`),
    ...c.foreign.map((a) => `${a.name} is foreign and is never restored or pruned: ${a.reason}`),
  ];
}
