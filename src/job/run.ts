import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { LoadedConfig } from '../config/load.js';
import { describeError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { buildArchive, type BuildOptions } from '../pipeline/archive.js';
import { recipientFingerprints, resolveEncryption, type ResolvedEncryption } from '../pipeline/encrypt.js';
import { archiveSizeBound, measureSources } from '../pipeline/estimate.js';
import { fanOut } from '../pipeline/fan-out.js';
import { runHooks } from '../pipeline/hooks.js';
import { captureInventoryCommands } from '../pipeline/inventory-commands.js';
import { prepareSources } from '../pipeline/sources/index.js';
import type { PreparedSource } from '../pipeline/sources/types.js';
import { planAndPrune } from '../retention/run-prune.js';
import { readLastRun, recordRun } from '../state/files.js';
import { acquireLock, type Lock } from '../state/lock.js';
import { makeStagingDir, prepareStagingDir } from '../state/staging-dirs.js';
import type { RunResult, TargetResult } from '../state/types.js';
import { archiveName } from '../storage/layout.js';
import { buildManifest } from '../storage/manifest.js';
import { closeTargets, selectTargetNames, type Target } from '../storage/targets.js';
import { onAbandon, tracked } from '../util/pending.js';
import { NoConsumersError } from '../util/tee.js';
import { openTarget } from '../../adapters/index.js';
import { inTargetOrder, setAsideAbsent } from './absent-targets.js';
import { decideRun } from './status.js';
import { startIncremental, type IncrementalRun } from '../incremental/run-step.js';
import { startTreePushes } from '../tree/run-trees.js';
import { treeOf } from '../tree/view.js';

export interface RunOptions {
  /** Target names to push to; all when empty. */
  targets?: string[];
  description?: string;
  /** Build and measure the archive, but store, prune and record nothing. */
  dryRun?: boolean;
  log: Logger;
  signal?: AbortSignal;
  onProgress?(event: ProgressEvent): void;
  /** Each entry as it goes into the archive (`run --dry-run --list`); a returned promise holds the archive back until it settles. */
  onEntry?: BuildOptions['onEntry'];
}

export type ProgressEvent =
  | {
      kind: 'archive';
      /** Source bytes read so far, and how many the walk found before the run (`total`). */
      read: number;
      total?: number;
      /** Files stored so far, and how many the walk found (`totalFiles`). */
      files?: number;
      totalFiles?: number;
      /** Archive bytes produced so far, and an upper bound for the archive's size. */
      written: number;
      estimate?: number;
    }
  | { kind: 'target'; target: string; bytes: number };

/** What `prepare` opened and holds for the run; `finish` releases it. */
interface Prepared {
  encryption?: ResolvedEncryption;
  targets: Target[];
  lock: Lock;
}

/** What a run learns as it goes; `finish` decides the status from it. */
interface Progress {
  result: RunResult;
  sources: PreparedSource[];
  staging?: string;
  unreadable: { path: string; message: string }[];
  /** The run failed as a whole (a hook, a source, the archive stream). */
  failed: boolean;
}

/**
 * One run of the job, in four steps:
 * 1. `prepare`: check what depends only on the config (targets, encryption
 *    keys), open the targets and take the job lock;
 * 2. before hooks, then `buildAndPush`: prepare the sources, build the
 *    archive once and push it to every target in parallel (manifest last);
 * 3. `prune` each target whose push succeeded;
 * 4. `finish` (always): decide the status (`decideRun`), clean up, run the
 *    after hooks, record the result in the state dir, release the lock.
 * When the process ends before the run does (work that never settles), the
 * run is recorded as a failure naming what was pending. Throws a
 * LockHeldError when another run holds the lock, and a UsageError for an
 * unknown target or a config problem found while opening targets or
 * encryption keys (before any hook runs); every other failure is reported
 * in the result.
 */
export async function runJob(config: LoadedConfig, options: RunOptions): Promise<RunResult> {
  const prepared = await prepare(config, options);
  const progress = await begin(config, options);
  const forget = onAbandon(async (reason) => {
    Object.assign(progress.result, { status: 'failure', error: reason, attention: undefined, ended: new Date().toISOString() });
    forget();
    if (!options.dryRun) await recordRun(config.stateDir, progress.result);
    if (progress.staging) await rm(progress.staging, { recursive: true, force: true }).catch(() => {});
    await prepared.lock.release();
  });
  try {
    await runHooks(config.hooks.before, { timeout: config.hooks.timeout, env: hookEnv(config, progress.result), log: options.log, signal: options.signal });
    await buildAndPush(config, options, prepared, progress);
    await prune(config, options, prepared.targets, progress.result);
  } catch (err) {
    progress.result.error = describeError(err);
    options.log.error(progress.result.error);
    progress.failed = true;
  } finally {
    await finish(config, options, prepared, progress, forget);
  }
  return progress.result;
}

/**
 * Everything that only depends on the config is checked before anything
 * runs: a bad key file or target option is a UsageError, not a failed run,
 * and no hook has run yet. Then the job lock is taken.
 */
async function prepare(config: LoadedConfig, options: RunOptions): Promise<Prepared> {
  const names = selectTargetNames(config, options.targets);
  let encryption: ResolvedEncryption | undefined;
  try {
    encryption = config.encryption ? await resolveEncryption(config.encryption, config.configDir) : undefined;
  } catch (err) {
    throw new UsageError(describeError(err), { cause: err });
  }
  const targets: Target[] = [];
  try {
    for (const name of names) targets.push(await openTarget(config, name, options.log, { dryRun: options.dryRun }));
    await prepareStagingDir(config.stagingDir, options.log);
    const lock = await acquireLock(config.stateDir, config.job, options.log);
    return { encryption, targets, lock };
  } catch (err) {
    await closeTargets(targets);
    throw err;
  }
}

/** The run's record as it starts: a failure until `finish` decides otherwise. */
async function begin(config: LoadedConfig, options: RunOptions): Promise<Progress> {
  const started = (await distinctStart(config.stateDir)).toISOString();
  const result: RunResult = {
    id: randomUUID(),
    job: config.job,
    status: 'failure',
    started,
    ended: started,
    description: options.description,
    dryRun: options.dryRun || undefined,
    targets: [],
    warnings: [],
  };
  return { result, sources: [], unreadable: [], failed: false };
}

/**
 * Prepares the sources, builds the archive once and pushes it to every
 * target in parallel (an absent optional target is skipped, see
 * `setAsideAbsent`); records each target's outcome, the archive's size and
 * hash, its warnings and the files that could not be read.
 */
async function buildAndPush(config: LoadedConfig, options: RunOptions, prepared: Prepared, progress: Progress): Promise<void> {
  const { log, signal } = options;
  const { result } = progress;
  const { encryption } = prepared;
  const started = new Date(result.started);
  const { present, skipped } = await setAsideAbsent(prepared.targets, log, signal);
  result.targets.push(...skipped);
  if (present.length === 0) throw new Error(`no target to store the archive on: ${skipped.map((s) => `${s.target} (${s.reason})`).join(', ')}`);
  // Incremental chains live on archive targets only; a tree target keeps whole snapshots.
  const targets = { archives: present.filter((t) => !treeOf(t)), trees: present.filter((t) => treeOf(t)) };
  const incr = config.incremental && targets.archives.length ? await startIncremental(config, targets.archives, started, encryption !== undefined, log, signal) : undefined;
  try {
    await buildAndPushArchive(config, options, prepared, progress, targets, incr);
  } finally {
    incr?.close();
  }
}

/** Builds the archive (incremental when `incr` says so) and pushes it to the present archive targets, and a snapshot to the present tree targets. */
async function buildAndPushArchive(
  config: LoadedConfig, options: RunOptions, prepared: Prepared, progress: Progress,
  targets: { archives: Target[]; trees: Target[] }, incr: IncrementalRun | undefined,
): Promise<void> {
  const { log, signal } = options;
  const { result } = progress;
  const { encryption } = prepared;
  const started = new Date(result.started);
  const archive = incr?.archive ?? archiveName(config.job, started, encryption !== undefined);
  result.archive = archive;
  if (incr) Object.assign(result, { level: incr.manifest.level, parent: incr.manifest.parent, chainLength: incr.manifest.chain!.length, fullBecause: incr.decision.fullBecause });
  progress.staging = await makeStagingDir(config.stagingDir, config.job);
  progress.sources = await prepareSources(config.sources, { config, stagingDir: progress.staging, log, signal });
  const commands = await captureInventoryCommands(config.inventory.commands, { timeout: config.hooks.timeout, signal });
  const trees = startTreePushes(targets.trees, { job: config.job, started, sources: progress.sources, commands, description: options.description, stagingDir: progress.staging, dryRun: options.dryRun, log, signal });
  if (targets.archives.length === 0) {
    result.archive = trees.snapshot;
    const stored = await trees.record(result, progress.unreadable, true);
    // No archive reported progress: the snapshot's own counts are the run's.
    if (stored) options.onProgress?.({ kind: 'archive', read: stored.bytes, total: stored.bytes, files: stored.files, totalFiles: stored.files, written: stored.bytes });
    result.targets = inTargetOrder(result.targets, prepared.targets);
    return;
  }
  const measured = measureSources(progress.sources);
  const estimate = archiveSizeBound(measured);
  const built = await buildArchive({
    job: config.job,
    started,
    sources: progress.sources,
    level: config.compression.level,
    encryption,
    commands,
    spoolDir: progress.staging,
    index: { archive, dir: progress.staging },
    onEntry: options.onEntry,
    onProgress: (p) => options.onProgress?.({ kind: 'archive', ...p, estimate, total: measured.bytes, totalFiles: measured.files }),
    incremental: incr?.tracker,
  });
  const outcomes = await fanOut(built, targets.archives, {
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
      created: result.started,
      size: r.size,
      sha256: r.sha256,
      encrypted: encryption !== undefined,
      recipients: encryption ? recipientFingerprints(encryption) : undefined,
      compression: { algorithm: 'gzip', level: config.compression.level },
      description: options.description,
      sources: r.sources.map(({ meta: _m, ...s }) => s),
      warnings: r.inventory.warnings.length,
      index: r.index && { name: r.index.name, size: r.index.size, sha256: r.index.sha256 },
      ...incr?.manifest,
    }),
  });
  const archiveResult = await built.result.catch((err: unknown) => {
    // When every target failed the stream was stopped on purpose: each target's own error says why.
    if (!(err instanceof NoConsumersError)) {
      result.error = describeError(err);
      progress.failed = true;
    }
    return undefined;
  });
  if (archiveResult) {
    result.size = archiveResult.size;
    result.sha256 = archiveResult.sha256;
    result.warnings = archiveResult.inventory.warnings.map((w) => `${w.path}: ${w.message}`);
    progress.unreadable.push(...(archiveResult.inventory.unreadable ?? []));
    if (incr && !options.dryRun && outcomes.some((o) => o.ok)) incr.commit();
  }
  for (const o of outcomes) {
    const tr: TargetResult = { target: o.target, status: o.ok ? 'success' : 'failure', bytes: o.bytes, durationMs: o.durationMs };
    const filled = incr?.filled.find((f) => f.target === o.target);
    if (filled) tr.filled = { copied: filled.copied, from: filled.from };
    if (!o.ok) {
      tr.error = result.error && !archiveResult ? result.error : describeError(o.error);
      tr.errorCode = (o.error as { code?: string } | undefined)?.code;
      log.error(`${o.target}: ${tr.error}`);
    }
    result.targets.push(tr);
  }
  await trees.record(result, progress.unreadable, !archiveResult);
  result.targets = inTargetOrder(result.targets, prepared.targets);
  for (const w of result.warnings) log.warn(w);
  for (const u of progress.unreadable) log.warn(`could not read ${u.path}: ${u.message}`);
}

/** Applies retention on each target whose push succeeded in this run; a failed prune is kept on the target's result. */
async function prune(config: LoadedConfig, options: RunOptions, targets: Target[], result: RunResult): Promise<void> {
  for (const t of targets) {
    const tr = result.targets.find((r) => r.target === t.name)!;
    if (tr.status !== 'success') continue;
    try {
      tr.pruned = await tracked(`prune of target "${t.name}"`, () =>
        planAndPrune(t, config, { dryRun: options.dryRun, signal: options.signal, log: options.log, justPushed: tr.snapshot ?? result.archive!, onFreed: (bytes) => { tr.prunedBytes = bytes; } }));
    } catch (err) {
      tr.pruneError = describeError(err);
      options.log.error(`${t.name}: prune failed: ${tr.pruneError}`);
    }
  }
}

/**
 * Decides the status, removes the staging dir and the sources' temporary
 * files, closes the targets, runs the after hooks (their failure is a
 * warning), records the run (a run is a success only once it is recorded:
 * status, metrics and the next run's checks read it) and releases the lock.
 * Until it records, a process that ends early still records a failure
 * (`onAbandon`); `forgetAbandon` turns that off.
 */
async function finish(config: LoadedConfig, options: RunOptions, prepared: Prepared, progress: Progress, forgetAbandon: () => void): Promise<void> {
  const { result } = progress;
  const { log } = options;
  const decided = decideRun({ targets: result.targets, unreadable: progress.unreadable, failed: progress.failed });
  result.status = decided.status;
  result.attention = decided.attention;
  await Promise.all(progress.sources.map((s) => s.cleanup()));
  if (progress.staging) await rm(progress.staging, { recursive: true, force: true }).catch(() => {});
  await closeTargets(prepared.targets);
  result.ended = new Date().toISOString();
  try {
    await runHooks(config.hooks.after, { timeout: config.hooks.timeout, env: hookEnv(config, result), log, keepGoing: true });
  } catch (err) {
    log.warn(`after hook: ${describeError(err)}`);
    result.warnings.push(`after hook: ${describeError(err)}`);
  }
  forgetAbandon();
  if (!options.dryRun) {
    await recordRun(config.stateDir, result).catch((err) => {
      result.status = 'failure';
      result.error = `could not record the run in ${config.stateDir}: ${describeError(err)}`;
      log.error(result.error);
    });
  }
  await prepared.lock.release();
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
