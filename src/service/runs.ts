import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import { exitCodeOf, exitCodeForStatus } from '../exit-codes.js';
import type { Logger } from '../log.js';
import { runJob, type ProgressEvent } from '../job/run.js';
import { readLiveLock } from '../state/lock.js';
import type { RunResult } from '../state/types.js';
import { notifyRun, notifyStart } from './notify/index.js';

export type RunTrigger = 'api' | 'schedule' | 'catch-up';

/** A run started by the daemon or the API, as `GET /api/runs/:id` shows it. */
export interface RunRecord {
  id: string;
  job: string;
  trigger: RunTrigger;
  state: 'running' | 'finished';
  started: string;
  ended?: string;
  description?: string;
  targets?: string[];
  progress: { archive_read: number; archive_written: number; estimate?: number; targets: Record<string, number> };
  /** The run's outcome once finished (absent when it could not start, e.g. the lock was held). */
  result?: RunResult;
  error?: string;
  /** Exit code `ferry run` would have given; null while the run is in progress. */
  exit_code: number | null;
}

/** Thrown by `start` when a run of this job is already in progress (here or in another process). */
export class RunInProgressError extends Error {
  constructor(readonly holder: string) {
    super(`a run is already in progress (${holder})`);
    this.name = 'RunInProgressError';
  }
}

const KEEP_RECORDS = 50;

/**
 * Starts runs for the daemon and the API, one at a time. Every run notifies
 * (healthchecks start ping, then the outcome), and its record stays
 * queryable for the last 50 runs. The job lock still guards against runs
 * from other processes.
 */
export class RunManager {
  private readonly records = new Map<string, RunRecord>();
  private active?: { record: RunRecord; controller: AbortController; done: Promise<RunRecord> };
  /** Set while `start` checks the job lock, so that concurrent starts see each other before their first await. */
  private starting = false;

  constructor(private readonly config: LoadedConfig, private readonly log: Logger) {}

  get current(): RunRecord | undefined {
    return this.active?.record;
  }

  get(id: string): RunRecord | undefined {
    return this.records.get(id);
  }

  list(): RunRecord[] {
    return [...this.records.values()].reverse();
  }

  /**
   * Starts a run and returns its record at once; `done` resolves when it
   * ended (never rejects). Throws RunInProgressError when a run is active in
   * this process or a live process holds the job lock. Of any number of
   * concurrent calls, exactly one starts a run: the check and the claim
   * happen with no await in between.
   */
  async start(options: { trigger: RunTrigger; description?: string; targets?: string[] }): Promise<{ record: RunRecord; done: Promise<RunRecord> }> {
    if (this.active) throw new RunInProgressError(`run ${this.active.record.id}`);
    if (this.starting) throw new RunInProgressError('another run is starting');
    this.starting = true;
    try {
      const holder = await liveLockHolder(this.config.stateDir);
      if (holder) throw new RunInProgressError(holder);
    } finally {
      this.starting = false;
    }
    const record: RunRecord = {
      id: randomUUID(),
      job: this.config.job,
      trigger: options.trigger,
      state: 'running',
      started: new Date().toISOString(),
      description: options.description,
      targets: options.targets,
      progress: { archive_read: 0, archive_written: 0, targets: {} },
      exit_code: null,
    };
    this.records.set(record.id, record);
    while (this.records.size > KEEP_RECORDS) this.records.delete(this.records.keys().next().value!);
    const controller = new AbortController();
    const done = this.execute(record, options, controller.signal).finally(() => {
      this.active = undefined;
    });
    this.active = { record, controller, done };
    return { record, done };
  }

  /** Aborts the active run, if any, and waits for it to end. */
  async abortActive(reason: string): Promise<void> {
    const active = this.active;
    if (!active) return;
    active.controller.abort(new Error(reason));
    await active.done;
  }

  /** Waits for the active run, if any. */
  async idle(): Promise<void> {
    await this.active?.done;
  }

  private async execute(record: RunRecord, options: { description?: string; targets?: string[] }, signal: AbortSignal): Promise<RunRecord> {
    const { config, log } = this;
    await notifyStart(config, log);
    try {
      const result = await runJob(config, {
        targets: options.targets,
        description: options.description,
        log,
        signal,
        onProgress: (e) => applyProgress(record, e),
      });
      record.result = result;
      record.exit_code = exitCodeForStatus(result.status);
      log.info(`run ${record.id}: ${result.status}${result.archive ? ` (${result.archive})` : ''}`);
      await notifyRun(config, result, log);
    } catch (err) {
      record.error = describeError(err);
      record.exit_code = exitCodeOf(err);
      log.error(`run ${record.id}: ${record.error}`);
    }
    record.state = 'finished';
    record.ended = new Date().toISOString();
    return record;
  }
}

function applyProgress(record: RunRecord, e: ProgressEvent): void {
  if (e.kind === 'archive') {
    record.progress.archive_read = e.read;
    record.progress.archive_written = e.written;
    record.progress.estimate = e.estimate;
  } else {
    record.progress.targets[e.target] = e.bytes;
  }
}

/** "pid N on HOST" when the job lock is held by a live process, else undefined (a stale lock is runJob's to take over). */
export async function liveLockHolder(stateDir: string): Promise<string | undefined> {
  const lock = await readLiveLock(stateDir);
  return lock && `pid ${lock.pid} on ${lock.host} since ${lock.started}`;
}
