import type { LoadedConfig } from '../config/load.js';
import { describeError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { startApiServer, type ApiServer } from './api/server.js';
import { notifyPayload } from './notify/index.js';
import { verifyPayload } from './notify/payload.js';
import { RunInProgressError, RunManager } from './runs.js';
import { parseSchedule } from './schedule.js';
import { accountedUntil, markAccounted, readScheduleState } from './schedule-state.js';
import { runScheduler, systemClock, type AccountStore, type Clock, type ScheduledTask, type TaskOutcome } from './scheduler.js';
import { graceOnStop } from './shutdown.js';
import { verifyLatest } from './verify-task.js';

export interface DaemonOptions {
  log: Logger;
  /** Aborts on SIGTERM/SIGINT: stop scheduling, give a running run `graceSeconds`, then abort it. */
  signal: AbortSignal;
  graceSeconds: number;
  /** Also serve the API on this HOST:PORT. */
  listen?: string;
  clock?: Clock;
}

/** The persisted "slots handled up to" times, in `<state_dir>/schedule.json`. */
export function fileStore(stateDir: string): AccountStore {
  return {
    load: async (name) => accountedUntil(await readScheduleState(stateDir), name),
    save: (name, until, slot) => markAccounted(stateDir, name, until, slot),
  };
}

/**
 * `ferry daemon`: runs the job on `schedule` (and read-back checks on
 * `verify.schedule`) until stopped, catching up once for slots missed while
 * it was down. Resolves with exit code 0 after a clean stop. A config without
 * any schedule is a UsageError.
 */
export async function runDaemon(config: LoadedConfig, options: DaemonOptions): Promise<number> {
  const { log, signal } = options;
  if (!config.schedule && !config.verify) throw new UsageError('ferry daemon needs `schedule:` (or `verify.schedule`) in the config');
  const runs = new RunManager(config, log);
  const stop = graceOnStop(signal, runs, options.graceSeconds, log);
  const tasks: ScheduledTask[] = [];
  if (config.schedule) {
    tasks.push({
      name: 'backup',
      schedule: parseSchedule(config.schedule, config.timezone),
      jitterSeconds: config.jitter,
      run: async ({ catchUp }) => {
        try {
          const { done } = await runs.start({ trigger: catchUp ? 'catch-up' : 'schedule' });
          await done;
        } catch (err) {
          if (!(err instanceof RunInProgressError)) throw err;
          log.warn(`backup: skipped, ${err.message}`);
        }
        return stop.interrupted() ? 'interrupted' : 'done';
      },
    });
  }
  if (config.verify) {
    const v = config.verify;
    tasks.push({
      name: 'verify',
      schedule: parseSchedule(v.schedule, config.timezone, 'verify.schedule'),
      run: async (): Promise<TaskOutcome> => {
        const started = new Date();
        const outcomes = await verifyLatest(config, v, log, stop.hard);
        if (stop.interrupted()) return 'interrupted';
        const payload = verifyPayload(config.job, outcomes, started, new Date());
        for (const o of outcomes) {
          if (o.ok) log.info(`verify ${o.target}: ok ${o.archive}`);
          else log.error(`verify ${o.target}: ${o.error}`);
        }
        await notifyPayload(config, payload, log);
        return 'done';
      },
    });
  }

  let api: ApiServer | undefined;
  if (options.listen) api = await startApiServer(config, { listen: options.listen, runs, log });
  const store = fileStore(config.stateDir);
  log.info(`daemon started for job ${config.job} (pid ${process.pid})`);
  try {
    await Promise.all(tasks.map((task) => runScheduler(task, { clock: options.clock ?? systemClock, store, log, signal }).catch((err: unknown) => {
      log.error(`${task.name}: scheduler stopped: ${describeError(err)}`);
    })));
    await runs.idle();
  } finally {
    stop.dispose();
    await api?.close();
  }
  log.info('daemon stopped');
  return 0;
}
