import { ArchiveNotFoundError, UsageError } from '../errors.js';
import type { StoredArchive } from '../storage/catalog.js';
import { isDatedInFuture } from '../storage/layout.js';

/**
 * Picks one complete archive (pure). `which` is an archive name, `latest` or
 * undefined (= latest); `at` picks the newest archive created at or before
 * that instant. Archives dated more than an hour after `now` never count as
 * `latest` or for `at` (clock skew, another host); an explicit name still
 * picks one. Throws an ArchiveNotFoundError that says what was looked for and where.
 */
export function selectArchive(
  complete: StoredArchive[],
  which: string | undefined,
  at: Date | undefined,
  where: string,
  now: Date = new Date(),
): StoredArchive {
  if (which && which !== 'latest') {
    const found = complete.find((a) => a.name === which);
    if (!found) throw new ArchiveNotFoundError(`archive ${which} is not on ${where} (or it is incomplete: no manifest)`);
    return found;
  }
  const usable = complete.filter((a) => !isDatedInFuture(a.created, now));
  const candidates = at ? usable.filter((a) => a.created.getTime() <= at.getTime()) : usable;
  const newest = candidates.reduce<StoredArchive | undefined>((best, a) => (!best || a.created > best.created ? a : best), undefined);
  if (!newest) {
    const skipped = complete.length - usable.length;
    const note = skipped > 0 ? ` (${skipped} dated in the future ${skipped === 1 ? 'is' : 'are'} not used)` : '';
    throw new ArchiveNotFoundError(at ? `no complete archive on ${where} was made at or before ${at.toISOString()}${note}` : `no complete archive on ${where}${note}`);
  }
  return newest;
}

/** Parses `--at`: any ISO-8601 date or date-time; a bare date means the end of that day (UTC). Anything else is a UsageError. */
export function parseAt(value: string): Date {
  const s = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T23:59:59.999Z` : value;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--at: "${value}" is not an ISO date or time (e.g. 2026-11-20T03:00:00Z)`);
  return d;
}
