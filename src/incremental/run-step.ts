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

/** One run's part in a chain: what it builds on, and the state it leaves for the next run. */
export interface IncrementalRun {
  archive: string;
  decision: LevelDecision;
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
 * hold every archive of the chain makes the archive a full one, so no
 * target ever holds an incremental archive whose parent it lacks; a target
 * whose listing cannot be read counts as lacking the chain.
 */
export async function startIncremental(config: LoadedConfig, targets: Target[], started: Date, encrypted: boolean, log: Logger, signal?: AbortSignal): Promise<IncrementalRun> {
  const incremental = config.incremental!;
  mkdirSync(config.stateDir, { recursive: true });
  const state = readChainState(config.stateDir);
  const previous = FileState.open(config.stateDir);
  const sources = sourcesKey(config);
  const lacking: { target: string; archive: string }[] = [];
  if (state && previous && state.sources === sources) {
    for (const t of targets) {
      try {
        const held = new Set((await readCatalog(t.adapter, config.job, { signal })).complete.map((a) => a.name));
        const missing = state.chain.find((a) => !held.has(a));
        if (missing) lacking.push({ target: t.name, archive: missing });
      } catch (err) {
        lacking.push({ target: t.name, archive: `${state.chain.at(-1)!} (its listing failed: ${describeError(err)})` });
      }
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
