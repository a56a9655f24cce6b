import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { readCatalog } from '../storage/catalog.js';
import { archiveName } from '../storage/layout.js';
import type { Manifest } from '../storage/manifest.js';
import type { Target } from '../storage/targets.js';
import { readChainState, writeChainState } from './chain-state.js';
import { FileState } from './file-state.js';
import { decideLevel, type LevelDecision } from './level.js';
import { ChangeTracker } from './tracker.js';
import { fillChain, type Filled } from './fill-chain.js';

/** One run's part in a chain: what it builds on, and the state it leaves for the next run. */
export interface IncrementalRun {
  archive: string;
  decision: LevelDecision;
  /** Targets that missed a run and were given the archives of the chain they lacked. */
  filled: Filled[];
  tracker: ChangeTracker;
  /** The manifest fields `level`, `parent` and `chain`. */
  manifest: Pick<Manifest, 'level' | 'parent' | 'chain'>;
  /** Makes this archive the chain's newest (once it is stored on at least one target). */
  commit(): void;
  /** Releases the state files; an uncommitted new state is deleted. Idempotent. */
  close(): void;
}

/**
 * Decides whether this run's archive is full or incremental (`decideLevel`)
 * and opens the previous and next per-file state. A target that does not
 * hold every archive of the chain (it missed a run, or was added later) is
 * first given the archives it lacks, copied from another selected target
 * that holds them all (`fillChain`); when that is not possible the archive
 * is a full one, so no target ever holds an incremental archive whose
 * parent it lacks. A target whose listing cannot be read counts as lacking
 * the chain.
 */
export async function startIncremental(config: LoadedConfig, targets: Target[], started: Date, encrypted: boolean, log: Logger, signal?: AbortSignal): Promise<IncrementalRun> {
  const incremental = config.incremental!;
  mkdirSync(config.stateDir, { recursive: true });
  const state = readChainState(config.stateDir);
  const previous = FileState.open(config.stateDir);
  const sources = sourcesKey(config);
  const lacking: { target: string; archive: string }[] = [];
  const filled: Filled[] = [];
  if (state && previous && state.sources === sources) {
    const held = new Map<Target, Set<string> | undefined>();
    for (const t of targets) {
      try {
        held.set(t, new Set((await readCatalog(t.adapter, config.job, { signal })).complete.map((a) => a.name)));
      } catch (err) {
        log.warn(`${t.name}: cannot tell whether it holds the chain (${describeError(err)})`);
        held.set(t, undefined);
      }
    }
    for (const t of targets) {
      const has = held.get(t);
      const missing = state.chain.filter((a) => !has?.has(a));
      if (!missing.length) continue;
      const source = has && targets.find((s) => s !== t && state.chain.every((a) => held.get(s)?.has(a)));
      if (source) {
        try {
          filled.push(await fillChain(t, source, missing, config.stagingDir, log, signal));
          continue;
        } catch (err) {
          log.warn(describeError(err));
        }
      }
      lacking.push({ target: t.name, archive: has ? missing[0]! : `${state.chain.at(-1)!} (its listing failed)` });
    }
  }
  const decision = decideLevel({ config: incremental, state, haveFileState: previous !== undefined, sources, now: started, lacking });
  const archive = archiveName(config.job, started, encrypted, decision.level > 0);
  if (decision.fullBecause) log.info(`${archive} is a full archive: ${decision.fullBecause}`);
  else log.info(`${archive} is incremental, level ${decision.level} on ${decision.parent}`);
  const prior = decision.level > 0 ? previous : undefined;
  if (!prior) previous?.close();
  const next = FileState.create(config.stateDir, archive);
  const chain = [...decision.base, archive];
  return {
    archive,
    decision,
    filled,
    tracker: new ChangeTracker(prior, next, archive),
    manifest: { level: decision.level, ...(decision.parent ? { parent: decision.parent } : {}), chain },
    commit() {
      next.commit(config.stateDir);
      writeChainState(config.stateDir, { sources, chain, fullCreated: decision.level === 0 ? started.toISOString() : state!.fullCreated });
    },
    close() {
      prior?.close();
      next.close();
    },
  };
}

/** A key for the sources as configured: when it changes, the next archive is a full one. */
function sourcesKey(config: LoadedConfig): string {
  return createHash('sha256').update(JSON.stringify(config.sources)).digest('hex');
}
