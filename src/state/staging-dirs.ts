import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, opendir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describeError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { isHeld, processStart } from './lock.js';

/** `ferry-<label>-p<pid>s<process start>-XXXXXX`: the owner of a working directory, in its name. */
const OWNED = /^ferry-.+-p(\d+)s(\d*)-[A-Za-z0-9]{6}$/;

/**
 * Creates a private (0700) working directory under `parent` for this
 * process, and `parent` itself (0700) when it is missing. The name starts
 * with `ferry-<label>-` and records the pid and start time of this process,
 * so that `sweepStagingDirs` can tell when its owner is gone.
 */
export async function makeStagingDir(parent: string, label: string): Promise<string> {
  await mkdir(parent, { recursive: true, mode: 0o700 });
  return mkdtemp(join(parent, `ferry-${label}-p${process.pid}s${processStart(process.pid) ?? ''}-`));
}

/**
 * Removes the working directories that `makeStagingDir` made under `parent`
 * for processes that no longer run (killed runs), and returns their names.
 * A directory whose process still runs, and everything not named by
 * `makeStagingDir`, is never touched. Best effort: a missing `parent`, or a
 * directory this user may not remove (another user's, in a shared /tmp), is
 * skipped.
 */
export async function sweepStagingDirs(parent: string): Promise<string[]> {
  const removed: string[] = [];
  let dir;
  try {
    dir = await opendir(parent);
  } catch {
    return removed;
  }
  for await (const e of dir) {
    const m = e.isDirectory() ? OWNED.exec(e.name) : null;
    if (!m || isHeld({ pid: Number(m[1]), host: hostname(), started: '', process_start: m[2] || undefined })) continue;
    try {
      await rm(join(parent, e.name), { recursive: true, force: true });
      removed.push(e.name);
    } catch {
      // not ours to remove after all
    }
  }
  return removed;
}

/**
 * Run start: creates `staging_dir` (0700) when it is missing, and removes
 * what killed runs left in it (logged). A staging_dir that cannot be created
 * or written is a config error naming the key, before anything has run.
 */
export async function prepareStagingDir(dir: string, log: Logger): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new UsageError(`staging_dir: cannot use ${dir} for temporary files: ${describeError(err)}`, { cause: err });
  }
  for (const name of await sweepStagingDirs(dir)) log.info(`removed ${join(dir, name)}, left behind by a Ferry process that was killed`);
}
