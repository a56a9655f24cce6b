import { lstat, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** SQLite keeps a database's live state in these files beside it; they travel with the database file. */
export const SQLITE_SIDECARS = ['-wal', '-shm', '-journal'];

/** `YYYYMMDDTHHMMSSZ`, the timestamp form archive names use. */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const exists = (p: string) => lstat(p).then(() => true, () => false);

/**
 * The name the current data at `path` is moved to: `<path>.pre-restore-<UTC ts>`,
 * or with `-2`, `-3`, ... appended when that name (or one of its sidecars) is taken.
 */
export async function asideName(path: string, now: Date, sidecars: readonly string[] = []): Promise<string> {
  const base = `${path}.pre-restore-${utcStamp(now)}`;
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    const taken = await Promise.all([candidate, ...sidecars.map((s) => candidate + s)].map(exists));
    if (!taken.some(Boolean)) return candidate;
  }
}

export interface SwapResult {
  /** Where the previous data went; undefined when nothing was at `path`. */
  previous?: string;
  /** Sidecar files that were moved along with it (e.g. `<previous>-wal`). */
  previousSidecars: string[];
}

/**
 * Puts `restored` (a file or directory on the same filesystem) at `path`.
 * Whatever is at `path` is first renamed to `asideName(path)`, together with
 * each existing `path + sidecar`, so the old data stays complete and usable
 * beside the new. Nothing is deleted. Every step is a rename; when one fails
 * part-way, the moves already made are undone before the error is rethrown,
 * so `path` is left either as it was or fully replaced.
 */
export async function swapIntoPlace(restored: string, path: string, options: { now: Date; sidecars?: readonly string[] }): Promise<SwapResult> {
  const sidecars = options.sidecars ?? [];
  const done: [from: string, to: string][] = [];
  const move = async (from: string, to: string) => {
    await rename(from, to);
    done.push([from, to]);
  };
  try {
    await mkdir(dirname(path), { recursive: true });
    let previous: string | undefined;
    const previousSidecars: string[] = [];
    const present = await exists(path);
    const presentSidecars = (await Promise.all(sidecars.map(async (s) => ((await exists(path + s)) ? s : undefined))))
      .filter((s): s is string => s !== undefined);
    if (present || presentSidecars.length > 0) {
      const aside = await asideName(path, options.now, sidecars);
      if (present) {
        await move(path, aside);
        previous = aside;
      }
      for (const s of presentSidecars) {
        await move(path + s, aside + s);
        previousSidecars.push(aside + s);
      }
    }
    await move(restored, path);
    return { previous, previousSidecars };
  } catch (err) {
    for (const [from, to] of done.reverse()) await rename(to, from).catch(() => {});
    throw err;
  }
}
