import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandSource } from '../../config/sources.js';
import { sourceArchivePath } from '../../config/load.js';
import { describeFailure, failureMessage, runShell, succeeded } from '../../util/spawn.js';
import type { PrepareSource } from './types.js';

/**
 * Runs the command with `/bin/sh -c` (cwd: the config's directory) and
 * spools its stdout to a staging file that is stored under `as`; stderr goes
 * to the debug log and its last lines into error messages.
 *
 * - Exit 0: stored, `meta.exit_code` is 0.
 * - Any failure (non-zero exit, killed at `timeout`): the source fails with
 *   `source command "<cmd>" exited with 3: <stderr lines>`, unless
 *   `allow_failure: true`; then whatever it printed is stored, the failure is
 *   logged as a warning and recorded in `meta.exit_code` / `meta.warning`.
 * - The shell cannot start, or `context.signal` aborts: always fails.
 */
export const prepareCommandSource: PrepareSource<CommandSource> = async (source, { config, stagingDir, log, signal }) => {
  const as = sourceArchivePath(source);
  const label = `source command "${source.command}"`;
  const file = join(stagingDir, `command-${randomBytes(6).toString('hex')}.out`);
  const cleanup = () => rm(file, { force: true }).catch(() => {});
  const timeoutMs = source.timeout * 1000;

  const result = await runShell(source.command, {
    cwd: config.configDir,
    stdoutFile: file,
    timeoutMs,
    signal,
    onStderrLine: (line) => log.debug(`${label}: ${line}`),
  });
  const failed = !succeeded(result);
  if (failed && (!source.allow_failure || result.spawnError || result.aborted)) {
    await cleanup();
    throw new Error(failureMessage(label, result, timeoutMs));
  }

  const meta: Record<string, unknown> = { command: source.command, exit_code: result.exitCode };
  try {
    meta.bytes = (await stat(file)).size;
  } catch (err) {
    await cleanup();
    throw new Error(`${label}: output file is missing: ${(err as Error).message}`, { cause: err });
  }
  if (failed) {
    const warning = `${describeFailure(result, timeoutMs)}; output stored anyway (allow_failure)`;
    meta.warning = warning;
    log.warn(`${failureMessage(label, result, timeoutMs)}; output stored anyway (allow_failure)`);
  }
  return { as, kind: 'command', fsPath: file, exclude: [], meta, cleanup };
};
