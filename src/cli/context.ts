import { loadConfig, configPathFrom, type LoadedConfig } from '../config/load.js';
import { formatConfigIssue } from '../errors.js';
import { createLogger, type Logger } from '../log.js';

/** `--progress`: bars on a TTY and plain lines otherwise (auto), JSON lines on stderr, plain lines, or nothing. */
export const PROGRESS_MODES = ['auto', 'json', 'plain', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Options every command accepts. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  /** `--progress`: auto (bars on a TTY), json, plain or none. */
  progress?: ProgressMode;
}

export interface CommandContext {
  options: GlobalOptions;
  log: Logger;
  /** Loads the config (once); throws ConfigError (exit 2) on any problem. */
  config(): LoadedConfig;
  /** Writes the command's result: JSON with --json, else the human text. */
  output(human: string, json: unknown): void;
  signal: AbortSignal;
}

export function createContext(options: GlobalOptions, signal: AbortSignal): CommandContext {
  let cached: LoadedConfig | undefined;
  const log = createLogger({ quiet: options.quiet, verbose: options.verbose, json: options.progress === 'json' });
  return {
    options,
    log,
    config: () => {
      if (cached) return cached;
      cached = loadConfig(configPathFrom(options.config));
      for (const w of cached.warnings) log.warn(formatConfigIssue(cached.configFile, w));
      return cached;
    },
    output(human, json) {
      if (options.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
      else if (human) process.stdout.write(human.endsWith('\n') ? human : human + '\n');
    },
    signal,
  };
}
