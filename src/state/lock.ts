import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockHeldError } from '../errors.js';
import type { Logger } from '../log.js';

export interface LockInfo {
  pid: number;
  host: string;
  /** When the run started (ISO time). */
  started: string;
  /** The holder's boot (`/proc/sys/kernel/random/boot_id`); absent in locks written by older versions. */
  boot_id?: string;
  /** The holder process's start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot); absent in older locks. */
  process_start?: string;
}

export interface Lock {
  release(): Promise<void>;
}

/**
 * Takes `<stateDir>/lock` for one run of the job, or throws a LockHeldError when a
 * live run holds it. The lock file is created complete: written under a
 * temporary name unique to this call (so two runs in one process never share
 * it), then hard-linked into place, which fails if a lock exists.
 *
 * A stale lock (see `isHeld`) is taken over with a warning, atomically:
 * a taker first claims that very lock file by hard-linking
 * `lock.takeover-<inode>` (only one process can), re-checks under the claim
 * that the file is still that stale lock, removes it, and then competes for
 * `lock` with the same exclusive link as everyone else. However many runs
 * start at once against a stale lock, exactly one ends up holding it.
 */
export async function acquireLock(stateDir: string, job: string, log: Logger): Promise<Lock> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'lock');
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    boot_id: bootId(),
    process_start: processStart(process.pid),
  };
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, JSON.stringify(info) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(tmp, path);
        const { ino } = await stat(tmp);
        return { release: () => releaseIfOurs(path, ino) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const found = await statLock(path);
      if (!found) continue;
      if (found.holder && isHeld(found.holder)) throw lockedError(job, path, found.holder);
      log.warn(`job ${job}: taking over a stale lock ${path} (${found.holder ? staleReason(found.holder) : 'unreadable'})`);
      await removeStale(path, found.ino, tmp, 0);
    }
    const holder = await readLock(path);
    throw holder && isHeld(holder) ? lockedError(job, path, holder) : new LockHeldError(`job ${job}: another run is taking over the stale lock ${path}`);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

function lockedError(job: string, path: string, holder: LockInfo): LockHeldError {
  return new LockHeldError(`job ${job}: another run holds the lock ${path} (pid ${holder.pid} on ${holder.host}, since ${holder.started})`);
}

async function statLock(path: string): Promise<{ ino: number; holder: LockInfo | undefined } | undefined> {
  try {
    const { ino } = await stat(path);
    return { ino, holder: await readLock(path) };
  } catch {
    return undefined;
  }
}

/**
 * Removes `file` if it is still the stale lock with inode `ino`. The claim
 * `<file>.takeover-<ino>` makes this exclusive: whoever holds it is the only
 * one allowed to delete that inode. A claim left by a taker that died is
 * itself stale and removed the same way (bounded depth).
 */
async function removeStale(file: string, ino: number, tmp: string, depth: number): Promise<void> {
  const claim = `${file}.takeover-${ino}`;
  try {
    await link(tmp, claim);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = await statLock(claim);
    if (other && depth < 2 && !(other.holder && isHeld(other.holder))) await removeStale(claim, other.ino, tmp, depth + 1);
    return;
  }
  try {
    const now = await statLock(file);
    // The inode may have been freed and reused by a newer, live lock: check its holder again under the claim.
    if (now && now.ino === ino && !(now.holder && isHeld(now.holder))) await unlink(file).catch(() => {});
  } finally {
    await unlink(claim).catch(() => {});
  }
}

/** Deletes the lock only while it is still the file this run linked (never a lock someone else took over). */
async function releaseIfOurs(path: string, ino: number): Promise<void> {
  try {
    if ((await stat(path)).ino === ino) await unlink(path);
  } catch {
    // already gone
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

/** The lock's holder when a run really holds it (see `isHeld`); a stale lock gives undefined. */
export async function readLiveLock(stateDir: string): Promise<LockInfo | undefined> {
  const holder = await readLock(join(stateDir, 'lock'));
  return holder && isHeld(holder) ? holder : undefined;
}

/**
 * Whether a lock is held. A lock from another host cannot be checked, so it
 * counts as held. On this host it is stale when it comes from another boot,
 * when its pid is dead, or when its pid now belongs to a process that started
 * at another time (a reused pid). Locks without `boot_id`/`process_start`
 * (older versions) are held exactly while their pid is alive.
 */
export function isHeld(holder: LockInfo): boolean {
  return holder.host !== hostname() || staleReason(holder) === undefined;
}

function staleReason(holder: LockInfo): string | undefined {
  const boot = bootId();
  if (holder.boot_id && boot && holder.boot_id !== boot) return `written before the last reboot by pid ${holder.pid}`;
  if (!isAlive(holder.pid)) return `pid ${holder.pid} is not running`;
  const start = processStart(holder.pid);
  if (holder.process_start && start && holder.process_start !== start) return `pid ${holder.pid} now belongs to another process`;
  return undefined;
}

let cachedBootId: string | null | undefined;

/** This boot's id, or undefined where /proc does not provide it. */
function bootId(): string | undefined {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId ?? undefined;
}

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined when unavailable. The command name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] || undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
