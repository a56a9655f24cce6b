import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { decideOnStart, nextFire, type Schedule } from './schedule.js';

/** Time as the scheduler sees it; tests pass a virtual clock. */
export interface Clock {
  now(): Date;
  /** Waits `ms` milliseconds, or less when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Longest single wait: a long sleep is split so suspends and clock changes are noticed. */
const MAX_NAP_MS = 60_000;

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
    }),
};

/** Where the scheduler keeps "every slot up to this time is handled". */
export interface AccountStore {
  load(name: string): Promise<Date | undefined>;
  save(name: string, until: Date, slot?: Date): Promise<void>;
}

/**
 * What a scheduled task did. `interrupted` means the daemon is stopping and
 * the run was cut short: its slot is not recorded as handled, so the next
 * start catches it up.
 */
export type TaskOutcome = 'done' | 'interrupted';

export interface ScheduledTask {
  /** Key in the state file, e.g. `backup` or `verify`. */
  name: string;
  schedule: Schedule;
  jitterSeconds?: number;
  run(trigger: { slot: Date; catchUp: boolean }): Promise<TaskOutcome>;
}

export interface SchedulerOptions {
  clock: Clock;
  store: AccountStore;
  log: Logger;
  /** Aborting stops the loop: it never starts another run after this. */
  signal: AbortSignal;
  random?: () => number;
}

/**
 * Runs `task` on its schedule until `signal` aborts.
 *
 * On start: with a persisted time, if any slot passed since then, the task
 * runs exactly once (catch-up); without one, the current time is persisted so
 * a later downtime can be detected. Then, for each slot: wait until the slot
 * (plus jitter), run, and persist the time the run ended, so slots that
 * passed while it ran are not run again. The task is never run twice at once.
 */
export async function runScheduler(task: ScheduledTask, options: SchedulerOptions): Promise<void> {
  const { clock, store, log, signal } = options;
  const started = clock.now();
  const decision = decideOnStart(task.schedule, await store.load(task.name), started);
  if (decision.catchUp) {
    log.info(`${task.name}: ${decision.missed} scheduled run(s) missed, last at ${decision.catchUp.toISOString()}; running once now`);
    if ((await runTask(task, { slot: decision.catchUp, catchUp: true }, log)) === 'done') await store.save(task.name, clock.now(), decision.catchUp);
  } else {
    await store.save(task.name, started);
  }
  while (!signal.aborted) {
    const fire = nextFire(task.schedule, clock.now(), task.jitterSeconds, options.random);
    if (!fire) {
      log.warn(`${task.name}: the schedule "${task.schedule.expression}" never fires again`);
      return;
    }
    log.info(`${task.name}: next run at ${fire.at.toISOString()}`);
    for (let now = clock.now(); now < fire.at && !signal.aborted; now = clock.now()) {
      await clock.sleep(Math.min(fire.at.getTime() - now.getTime(), MAX_NAP_MS), signal);
    }
    if (signal.aborted) return;
    if ((await runTask(task, { slot: fire.slot, catchUp: false }, log)) === 'done') await store.save(task.name, clock.now(), fire.slot);
  }
}

async function runTask(task: ScheduledTask, trigger: { slot: Date; catchUp: boolean }, log: Logger): Promise<TaskOutcome> {
  try {
    return await task.run(trigger);
  } catch (err) {
    log.error(`${task.name}: ${describeError(err)}`);
    return 'done';
  }
}
