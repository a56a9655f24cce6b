import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { loadConfig, type LoadedConfig } from './load.js';

/** The jobs a `-c`/`FERRY_CONFIG` path holds: one for a file, one per `*.yaml` for a directory. */
export interface JobSet {
  /** The path as resolved (a file or a directory). */
  path: string;
  /** True when the path is a directory of job files. */
  directory: boolean;
  /** Every job, in file-name order. */
  jobs: LoadedConfig[];
}

/** True when `path` names a directory (a missing path is not one: it is reported as a missing config file). */
export function isConfigDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Loads a config file, or every `*.yaml` file directly inside a directory
 * (sorted by name; other files and subdirectories are ignored), each as one
 * job. Every file is validated; the problems of all of them are reported
 * together. A directory without a `*.yaml` file, and two files with the same
 * `job:`, are config errors naming the files.
 */
export function loadJobs(path: string, env: NodeJS.ProcessEnv = process.env): JobSet {
  if (!isConfigDirectory(path)) return { path, directory: false, jobs: [loadConfig(path, env)] };
  const files = readdirSync(path).filter((f) => f.endsWith('.yaml')).sort()
    .map((f) => join(path, f)).filter((f) => statSync(f).isFile());
  if (files.length === 0) throw new ConfigError(path, [{ path: '', message: 'the config directory holds no *.yaml file (each one is a job)' }]);
  const jobs: LoadedConfig[] = [];
  const errors: ConfigError[] = [];
  for (const file of files) {
    try {
      jobs.push(loadConfig(file, env));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err);
    }
  }
  const seen = new Map<string, string>();
  for (const job of jobs) {
    const first = seen.get(job.job);
    if (first) {
      errors.push(new ConfigError(relative(path, job.configPath), [{ path: 'job', message: `job "${job.job}" is already defined in ${relative(path, first)}; every job needs its own name` }]));
    }
    seen.set(job.job, job.configPath);
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length) throw new JobsConfigError(errors);
  return { path, directory: true, jobs };
}

/** Config problems in several job files of one directory, each file's own lines in turn. */
export class JobsConfigError extends ConfigError {
  constructor(readonly errors: ConfigError[]) {
    super('', errors.flatMap((e) => e.issues));
    this.message = `invalid config:\n  ${errors.map((e) => e.message.replace(/^invalid config:\n {2}/, '')).join('\n  ')}`;
  }
}

/**
 * The jobs a command works on: `name` picks one (a UsageError listing the
 * jobs when there is none of that name), otherwise every job.
 */
export function selectJobs(set: JobSet, name: string | undefined): LoadedConfig[] {
  if (name === undefined) return set.jobs;
  const found = set.jobs.find((j) => j.job === name);
  if (!found) throw new UsageError(`--job ${name}: no such job in ${set.path} (jobs: ${set.jobs.map((j) => j.job).join(', ')})`);
  return [found];
}
