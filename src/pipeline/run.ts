import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { LoadedConfig } from '../config/load.js';
import { describeError, EXIT, ExitError } from '../errors.js';
import type { Logger } from '../log.js';
import { planAndPrune } from '../retention/run-prune.js';
import { readLastRun, recordRun } from '../state/files.js';
import { acquireLock, type Lock } from '../state/lock.js';
import { makeStagingDir, prepareStagingDir } from '../state/staging-dirs.js';
import type { RunResult, TargetResult } from '../state/types.js';
import { archiveName } from '../storage/layout.js';
import { closeTargets, selectTargetNames, type Target } from '../storage/targets.js';
import { openTarget } from '../../adapters/index.js';
import { buildArchive } from './archive.js';
import { recipientFingerprints, resolveEncryption, type ResolvedEncryption } from './encrypt.js';
import { fanOut } from './fan-out.js';
import { runHooks } from './hooks.js';
import { captureInventoryCommands } from './inventory-commands.js';
import { buildManifest } from './manifest.js';
import { prepareSources } from './sources/index.js';
import type { PreparedSource } from './sources/types.js';
import { estimateSize } from './estimate.js';
import { NoConsumersError } from '../util/tee.js';
import { onAbandon, tracked } from '../util/pending.js';
import { decideRun } from './run-status.js';

export interface RunOptions {
  /** Target names to push to; all when empty. */
  targets?: string[];
  description?: string;
  /** Build and measure the archive, but store, prune and record nothing. */
  dryRun?: boolean;
  log: Logger;
  signal?: AbortSignal;
  onProgress?(event: ProgressEvent): void;
}

export type ProgressEvent =
  | { kind: 'archive'; read: number; written: number; estimate?: number }
  | { kind: 'target'; target: string; bytes: number };

/**
 * One run (SPEC §1): lock → before hooks → prepare sources → build the
 * archive once and push it to every selected target in parallel (manifest
 * last) → prune each target that succeeded → after hooks (always) → record
 * the result in the state dir. The status comes from `decideRun` once the
 * prunes are done. When the process ends before the run does (work that
 * never settles), the run is recorded as a failure naming what was pending.
 * Throws ExitError 75 when another run holds the
 * lock, and ExitError 2 for an unknown target or a config problem found
 * while opening targets or encryption keys (before any hook runs); every
 * other failure is reported in the result.
 */
export async function runJob(config: LoadedConfig, options: RunOptions): Promise<RunResult> {
  const names = selectTargetNames(config, options.targets);
  const { log, signal } = options;
  // Everything that only depends on the config is checked before anything runs: a bad key file or
  // target option is a config error (exit 2), not a failed run, and no hook has run yet.
  let encryption: ResolvedEncryption | undefined;
  try {
    encryption = config.encryption ? await resolveEncryption(config.encryption, config.configDir) : undefined;
  } catch (err) {
    throw new ExitError(EXIT.USAGE, describeError(err), { cause: err });
  }
  const targets: Target[] = [];
  let lock: Lock;
  try {
    for (const name of names) targets.push(await openTarget(config, name, log, { dryRun: options.dryRun }));
    await prepareStagingDir(config.stagingDir, log);
    lock = await acquireLock(config.stateDir, config.job, log);
  } catch (err) {
    await closeTargets(targets);
    throw err;
  }
  const started = await distinctStart(config.stateDir);
  const result: RunResult = {
    id: randomUUID(),
    job: config.job,
    status: 'failure',
    started: started.toISOString(),
    ended: started.toISOString(),
    description: options.description,
    dryRun: options.dryRun || undefined,
    targets: [],
    warnings: [],
  };
  let sources: PreparedSource[] = [];
  let staging: string | undefined;
  const unreadable: { path: string; message: string }[] = [];
  let failed = false;
  const forget = onAbandon(async (reason) => {
    Object.assign(result, { status: 'failure', error: reason, attention: undefined, ended: new Date().toISOString() });
    forget();
    if (!options.dryRun) await recordRun(config.stateDir, result);
    if (staging) await rm(staging, { recursive: true, force: true }).catch(() => {});
    await lock.release();
  });
  try {
    await runHooks(config.hooks.before, { timeout: config.hooks.timeout, env: hookEnv(config, result), log, signal });
    result.archive = archiveName(config.job, started, encryption !== undefined);
    staging = await makeStagingDir(config.stagingDir, config.job);
    sources = await prepareSources(config.sources, { config, stagingDir: staging, log, signal });
    const commands = await captureInventoryCommands(config.inventory.commands, { timeout: config.hooks.timeout, signal });
    const estimate = estimateSize(sources);
    const built = await buildArchive({
      job: config.job,
      started,
      sources,
      level: config.compression.level,
      encryption,
      commands,
      spoolDir: staging,
      onProgress: (p) => options.onProgress?.({ kind: 'archive', ...p, estimate }),
    });
    const archive = result.archive;
    const outcomes = await fanOut(built, targets, {
      job: config.job,
      archive,
      encrypted: encryption !== undefined,
      sizeHint: estimate,
      log,
      signal,
      onProgress: (target, bytes) => options.onProgress?.({ kind: 'target', target, bytes }),
      manifest: (r) => buildManifest({
        job: config.job,
        archive,
        created: started.toISOString(),
        size: r.size,
        sha256: r.sha256,
        encrypted: encryption !== undefined,
        recipients: encryption ? recipientFingerprints(encryption) : undefined,
        compression: { algorithm: 'gzip', level: config.compression.level },
        description: options.description,
        sources: r.sources.map(({ meta: _m, ...s }) => s),
        warnings: r.inventory.warnings.length,
      }),
    });
    const archiveResult = await built.result.catch((err: unknown) => {
      // When every target failed the stream was stopped on purpose: each target's own error says why.
      if (!(err instanceof NoConsumersError)) {
        result.error = describeError(err);
        failed = true;
      }
      return undefined;
    });
    if (archiveResult) {
      result.size = archiveResult.size;
      result.sha256 = archiveResult.sha256;
      result.warnings = archiveResult.inventory.warnings.map((w) => `${w.path}: ${w.message}`);
      unreadable.push(...(archiveResult.inventory.unreadable ?? []));
    }
    for (const o of outcomes) {
      const tr: TargetResult = { target: o.target, status: o.ok ? 'success' : 'failure', bytes: o.bytes, durationMs: o.durationMs };
      if (!o.ok) {
        tr.error = result.error && !archiveResult ? result.error : describeError(o.error);
        tr.errorCode = (o.error as { code?: string } | undefined)?.code;
        log.error(`${o.target}: ${tr.error}`);
      }
      result.targets.push(tr);
    }
    for (const w of result.warnings) log.warn(w);
    for (const u of unreadable) log.warn(`could not read ${u.path}: ${u.message}`);
    // Prune only targets whose push succeeded in this run.
    for (const t of targets) {
      const tr = result.targets.find((r) => r.target === t.name)!;
      if (tr.status !== 'success') continue;
      try {
        tr.pruned = await tracked(`prune of target "${t.name}"`, () => planAndPrune(t, config, { dryRun: options.dryRun, signal, log, justPushed: archive }));
      } catch (err) {
        tr.pruneError = describeError(err);
        log.error(`${t.name}: prune failed: ${tr.pruneError}`);
      }
    }
  } catch (err) {
    result.error = describeError(err);
    log.error(result.error);
    failed = true;
  } finally {
    const decided = decideRun({ targets: result.targets, unreadable, failed });
    result.status = decided.status;
    result.attention = decided.attention;
    await Promise.all(sources.map((s) => s.cleanup()));
    if (staging) await rm(staging, { recursive: true, force: true }).catch(() => {});
    await closeTargets(targets);
    result.ended = new Date().toISOString();
    try {
      await runHooks(config.hooks.after, { timeout: config.hooks.timeout, env: hookEnv(config, result), log, keepGoing: true });
    } catch (err) {
      log.warn(`after hook: ${describeError(err)}`);
      result.warnings.push(`after hook: ${describeError(err)}`);
    }
    forget();
    if (!options.dryRun) {
      // A run is a success only once it is recorded: status, metrics and the next run's checks read it.
      await recordRun(config.stateDir, result).catch((err) => {
        result.status = 'failure';
        result.error = `could not record the run in ${config.stateDir}: ${describeError(err)}`;
        log.error(result.error);
      });
    }
    await lock.release();
  }
  return result;
}

function hookEnv(config: LoadedConfig, result: RunResult): Record<string, string> {
  return { FERRY_JOB: config.job, FERRY_STATUS: result.status, FERRY_ARCHIVE: result.archive ?? '' };
}

/**
 * The run's start time. Archive names have one-second resolution, so when
 * the previous run of this job started in the same second, wait for the next
 * one rather than reuse its name.
 */
async function distinctStart(stateDir: string): Promise<Date> {
  const now = new Date();
  const last = await readLastRun(stateDir);
  if (last && Math.floor(Date.parse(last.started) / 1000) === Math.floor(now.getTime() / 1000)) {
    await new Promise((r) => setTimeout(r, 1000 - now.getMilliseconds() + 5));
    return new Date();
  }
  return now;
}
