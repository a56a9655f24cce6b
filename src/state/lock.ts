import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitError, EXIT } from '../errors.js';
import type { Logger } from '../log.js';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

export interface Lock {
  release(): Promise<void>;
}

/**
 * Takes `<stateDir>/lock` for one run of the job. The lock file is created
 * complete (written under a temporary name, then hard-linked into place, which
 * fails if a lock exists). A lock whose pid is dead on this host is stale and
 * taken over with a warning; a live one makes this call throw exit 75.
 */
export async function acquireLock(stateDir: string, job: string, log: Logger): Promise<Lock> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'lock');
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(info) + '\n', { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(tmp, path);
        return { release: () => unlink(path).catch(() => {}) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readLock(path);
      if (holder && isHeld(holder)) {
        throw new ExitError(
          EXIT.LOCKED,
          `job ${job}: another run holds the lock ${path} (pid ${holder.pid} on ${holder.host}, since ${holder.started})`,
        );
      }
      log.warn(`job ${job}: taking over a stale lock ${path}${holder ? ` (pid ${holder.pid} is not running)` : ' (unreadable)'}`);
      await unlink(path).catch(() => {});
    }
    throw new ExitError(EXIT.LOCKED, `job ${job}: could not take the lock ${path}`);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

export async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** The lock's holder when a run really holds it (a live pid on this host, or any pid on another host); a stale lock gives undefined. */
export async function readLiveLock(stateDir: string): Promise<LockInfo | undefined> {
  const holder = await readLock(join(stateDir, 'lock'));
  return holder && isHeld(holder) ? holder : undefined;
}

/** A lock from another host cannot be checked, so it counts as held; on this host its pid must be alive. */
function isHeld(holder: LockInfo): boolean {
  return holder.host !== hostname() || isAlive(holder.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
