import { isDeepStrictEqual } from 'node:util';
import { basename } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { ApiConfig } from '../config/service.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { RunManager, type RunRecord } from './runs.js';

/** One job the daemon or the API serves, with the manager of its runs. */
export interface ServedJob {
  config: LoadedConfig;
  runs: RunManager;
}

/** A job name that is not served, or a request that must name one (400). */
export class UnknownJobError extends UsageError {}

/**
 * The jobs one daemon or API process serves (a config file: one; a config
 * directory: every job in it), each with its own RunManager, so runs of
 * different jobs never wait for each other and each takes its own lock.
 */
export class ServedJobs {
  readonly all: ServedJob[];

  constructor(configs: LoadedConfig[], log: Logger) {
    this.all = configs.map((config) => ({ config, runs: new RunManager(config, log) }));
  }

  /** True when there is more than one job (answers without `?job=` then cover all of them). */
  get several(): boolean {
    return this.all.length > 1;
  }

  /** `name`'s job, or the only job when `name` is absent; else an UnknownJobError naming the jobs. */
  pick(name: string | undefined): ServedJob {
    if (name === undefined && !this.several) return this.all[0]!;
    const found = this.all.find((j) => j.config.job === name);
    if (found) return found;
    const jobs = this.all.map((j) => j.config.job).join(', ');
    throw new UnknownJobError(name === undefined ? `several jobs are served (${jobs}); name one with ?job=` : `no job "${name}" (jobs: ${jobs})`);
  }

  /** `name`'s job alone, or every job when `name` is absent. */
  select(name: string | undefined): ServedJob[] {
    return name === undefined ? this.all : [this.pick(name)];
  }

  /** A run in progress of any job (the first one found). */
  get current(): RunRecord | undefined {
    return this.all.map((j) => j.runs.current).find((r) => r !== undefined);
  }

  /** Aborts every job's active run and waits for them to end. */
  async abortActive(reason: string): Promise<void> {
    await Promise.all(this.all.map((j) => j.runs.abortActive(reason)));
  }

  /** Waits for every job's active run. */
  async idle(): Promise<void> {
    await Promise.all(this.all.map((j) => j.runs.idle()));
  }
}

/**
 * The `api:` settings of a set of jobs: the one job file that has them, or
 * several that agree. Jobs that set it differently are a UsageError naming
 * the files, since one process serves them all with one token.
 */
export function apiSettings(configs: LoadedConfig[]): Partial<ApiConfig> | undefined {
  const withApi = configs.filter((c) => c.api !== undefined);
  const first = withApi[0];
  const other = withApi.find((c) => !isDeepStrictEqual(c.api, first!.api));
  if (other) throw new UsageError(`api: is set differently in ${basename(first!.configPath)} and ${basename(other.configPath)}; one process serves every job, so set it in one file`);
  return first?.api;
}
