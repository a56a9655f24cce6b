import type { LoadedConfig } from '../config/load.js';
import { describeError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { startApiServer, type ApiServer } from './api/server.js';
import { notifyPayload } from './notify/index.js';
import { verifyPayload } from './notify/payload.js';
import { ServedJobs } from './jobs.js';
import { RunInProgressError } from './runs.js';
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

/**
 * The persisted "slots handled up to" times, in `<state_dir>/schedule.json`,
 * under `key` (the task's name within its job: `backup`, `verify`).
 */
export function fileStore(stateDir: string, key?: string): AccountStore {
  return {
    load: async (name) => accountedUntil(await readScheduleState(stateDir), key ?? name),
    save: (name, until, slot) => markAccounted(stateDir, key ?? name, until, slot),
  };
}

/**
 * `ferry daemon`: runs every job on its `schedule` (and read-back checks on
 * `verify.schedule`) until stopped, catching up once for slots missed while
 * it was down. Each job has its own runs and lock, so one job's run never
 * delays another's. Resolves with exit code 0 after a clean stop. When no
 * job has any schedule, that is a UsageError; with several jobs, one
 * without a schedule is only noted.
 */
export async function runDaemon(configs: LoadedConfig[], options: DaemonOptions): Promise<number> {
  const { log, signal } = options;
  const scheduled = configs.filter((c) => c.schedule || c.verify);
  if (scheduled.length === 0) {
    throw new UsageError(`ferry daemon needs \`schedule:\` (or \`verify.schedule\`) in the config${configs.length > 1 ? ' of at least one job' : ''}`);
  }
  for (const c of configs) if (!scheduled.includes(c)) log.info(`job ${c.job}: no schedule, not run by the daemon`);
  const jobs = new ServedJobs(configs, log);
  const stop = graceOnStop(signal, jobs, options.graceSeconds, log);
  const tasks: { task: ScheduledTask; store: AccountStore }[] = [];
  for (const { config, runs } of jobs.all) {
    const named = (task: string) => (jobs.several ? `${config.job}: ${task}` : task);
    if (config.schedule) {
      tasks.push({ store: fileStore(config.stateDir, 'backup'), task: {
        name: named('backup'),
        schedule: parseSchedule(config.schedule, config.timezone),
        jitterSeconds: config.jitter,
        run: async ({ catchUp }) => {
          try {
            const { done } = await runs.start({ trigger: catchUp ? 'catch-up' : 'schedule' });
            await done;
          } catch (err) {
            if (!(err instanceof RunInProgressError)) throw err;
            log.warn(`${named('backup')}: skipped, ${err.message}`);
          }
          return stop.interrupted() ? 'interrupted' : 'done';
        },
      } });
    }
    if (config.verify) {
      const v = config.verify;
      tasks.push({ store: fileStore(config.stateDir, 'verify'), task: {
        name: named('verify'),
        schedule: parseSchedule(v.schedule, config.timezone, 'verify.schedule'),
        run: async (): Promise<TaskOutcome> => {
          const started = new Date();
          const outcomes = await verifyLatest(config, v, log, stop.hard);
          if (stop.interrupted()) return 'interrupted';
          const payload = verifyPayload(config.job, outcomes, started, new Date());
          for (const o of outcomes) {
            if (o.ok) log.info(`${named('verify')} ${o.target}: ok ${o.archive}`);
            else log.error(`${named('verify')} ${o.target}: ${o.error}`);
          }
          await notifyPayload(config, payload, log);
          return 'done';
        },
      } });
    }
  }

  let api: ApiServer | undefined;
  if (options.listen) api = await startApiServer(jobs, { listen: options.listen, log });
  log.info(`daemon started for job${configs.length > 1 ? 's' : ''} ${configs.map((c) => c.job).join(', ')} (pid ${process.pid})`);
  try {
    await Promise.all(tasks.map(({ task, store }) => runScheduler(task, { clock: options.clock ?? systemClock, store, log, signal }).catch((err: unknown) => {
      log.error(`${task.name}: scheduler stopped: ${describeError(err)}`);
    })));
    await jobs.idle();
  } finally {
    stop.dispose();
    await api?.close();
  }
  log.info('daemon stopped');
  return 0;
}
