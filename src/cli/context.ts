import { configPathFrom, type LoadedConfig } from '../config/load.js';
import { loadJobs, selectJobs, type JobSet } from '../config/jobs.js';
import { formatConfigIssue, UsageError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { toDocument } from '../util/json-document.js';

/** `--progress`: bars on a TTY and plain lines otherwise (auto), JSON lines on stderr, plain lines, or nothing. */
export const PROGRESS_MODES = ['auto', 'json', 'plain', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Options every command accepts. */
export interface GlobalOptions {
  config?: string;
  /** `--job NAME`: the one job of a config directory to work on. */
  job?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  /** `--progress`: auto (bars on a TTY), json, plain or none. */
  progress?: ProgressMode;
}

export interface CommandContext {
  options: GlobalOptions;
  log: Logger;
  /**
   * The one job this command works on (loaded once): the config file's, or
   * with a config directory the one `--job` names (or the only one). Throws
   * ConfigError (exit 2) on any problem, and a UsageError when a directory
   * holds several jobs and no `--job` picks one.
   */
  config(): LoadedConfig;
  /** Every job the command works on: `--job`'s, else all of them. */
  jobs(): LoadedConfig[];
  /** The loaded config file or directory. */
  jobSet(): JobSet;
  /**
   * Sets the command's result: JSON with --json (snake_case keys,
   * `format_version` and `exit_code`), else the human text. It is written
   * when the command returns its exit code (`flush`).
   */
  output(human: string, json: unknown): void;
  /** Writes the result set by `output` with this exit code, once; main calls it, a long-running command may call it early. */
  flush(exitCode: number): void;
  signal: AbortSignal;
}

export function createContext(options: GlobalOptions, signal: AbortSignal): CommandContext {
  let set: JobSet | undefined;
  let pending: { human: string; json: unknown } | undefined;
  const log = createLogger({ quiet: options.quiet, verbose: options.verbose, json: options.progress === 'json' });
  const jobSet = () => {
    if (set) return set;
    set = loadJobs(configPathFrom(options.config));
    for (const job of set.jobs) for (const w of job.warnings) log.warn(formatConfigIssue(job.configFile, w));
    return set;
  };
  const ctx: CommandContext = {
    options,
    log,
    jobSet,
    jobs: () => selectJobs(jobSet(), options.job),
    config() {
      const jobs = ctx.jobs();
      if (jobs.length > 1) throw new UsageError(`${jobSet().path} holds ${jobs.length} jobs (${jobs.map((j) => j.job).join(', ')}); pick one with --job NAME`);
      return jobs[0]!;
    },
    output(human, json) {
      pending = { human, json };
    },
    flush(exitCode) {
      if (!pending) return;
      const { human, json } = pending;
      pending = undefined;
      if (options.json) process.stdout.write(JSON.stringify(toDocument(json, exitCode), null, 2) + '\n');
      else if (human) process.stdout.write(human.endsWith('\n') ? human : human + '\n');
    },
    signal,
  };
  return ctx;
}
