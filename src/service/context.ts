import type { CommandContext } from '../cli/context.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log.js';

/** A command context for calling command helpers (verifyOne) from the service: it prints nothing. */
export function serviceContext(config: LoadedConfig, log: Logger, signal: AbortSignal): CommandContext {
  return { options: {}, log, config: () => config, output: () => {}, signal };
}
