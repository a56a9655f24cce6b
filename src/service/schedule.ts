import { Cron } from 'croner';
import { UsageError } from '../errors.js';

/**
 * Pure scheduling decisions. Nothing here reads the clock or sleeps: the
 * caller passes `now`, so tests drive them with a controllable clock.
 */

/** A parsed cron schedule in an IANA zone (local time when `timezone` is undefined). */
export interface Schedule {
  expression: string;
  timezone?: string;
  /** The first slot strictly after `after`, or undefined when the pattern never fires again. */
  next(after: Date): Date | undefined;
}

/** Parses a cron expression; an invalid one is a UsageError naming `key`. */
export function parseSchedule(expression: string, timezone: string | undefined, key = 'schedule'): Schedule {
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone, paused: true });
  } catch (err) {
    throw new UsageError(`${key}: invalid cron expression "${expression}": ${(err as Error).message}`, { cause: err });
  }
  return { expression, timezone, next: (after) => cron.nextRun(after) ?? undefined };
}

export interface StartDecision {
  /** The most recent slot that passed while nothing was running, if any: run once for it. */
  catchUp?: Date;
  /** Slots that were missed (capped at `MISSED_SCAN_LIMIT`); however many, at most one catch-up run. */
  missed: number;
}

const MISSED_SCAN_LIMIT = 10_000;

/**
 * What to do when the daemon starts (systemd `Persistent=true` semantics).
 * `accountedUntil` is the persisted time up to which every slot was handled.
 * When at least one slot lies in `(accountedUntil, now]`, the answer is one
 * catch-up run for the latest of them; otherwise none. Without a persisted
 * time (the very first start) nothing is considered missed.
 */
export function decideOnStart(schedule: Schedule, accountedUntil: Date | undefined, now: Date): StartDecision {
  if (!accountedUntil) return { missed: 0 };
  let missed = 0;
  let latest: Date | undefined;
  for (let slot = schedule.next(accountedUntil); slot && slot <= now && missed < MISSED_SCAN_LIMIT; slot = schedule.next(slot)) {
    latest = slot;
    missed++;
  }
  return latest ? { catchUp: latest, missed } : { missed: 0 };
}

/**
 * When the next scheduled run starts: the next slot after `now` plus a random
 * delay in `[0, jitterSeconds)`. `random` returns a number in [0, 1).
 */
export function nextFire(schedule: Schedule, now: Date, jitterSeconds = 0, random: () => number = Math.random): { slot: Date; at: Date } | undefined {
  const slot = schedule.next(now);
  if (!slot) return undefined;
  const delay = jitterSeconds > 0 ? Math.floor(random() * jitterSeconds * 1000) : 0;
  return { slot, at: new Date(slot.getTime() + delay) };
}

/** The next time `schedule` fires after `from`, in the configured zone; undefined without a schedule. */
export function nextScheduledRun(schedule: string | undefined, timezone: string | undefined, from = new Date()): Date | undefined {
  return schedule ? parseSchedule(schedule, timezone).next(from) : undefined;
}
