import type { IncrementalConfig } from '../config/incremental.js';
import type { ChainState } from './chain-state.js';

/** What the next archive of a job with `incremental:` is. */
export interface LevelDecision {
  /** 0 for a full archive. */
  level: number;
  /** The archive it builds on (the chain's newest); absent for a full archive. */
  parent?: string;
  /** The archives before it in its chain, oldest first (empty for a full archive). */
  base: string[];
  /** Why this is a full archive, for the run's log and result; absent for an incremental one. */
  fullBecause?: string;
}

export interface LevelInput {
  config: IncrementalConfig;
  /** The recorded chain, if any. */
  state?: ChainState;
  /** Whether the per-file state of the chain's newest archive is there. */
  haveFileState: boolean;
  /** The key of the sources as configured now (see ChainState.sources). */
  sources: string;
  now: Date;
  /** For each selected target, the first archive of the chain it does not hold, if any. */
  lacking: { target: string; archive: string }[];
}

/**
 * Decides whether the next archive is full or incremental (pure). It is a
 * full archive when there is no usable previous state, when the sources in
 * the config changed, when the chain already holds `full_every` archives,
 * when its full archive is older than `full_after`, or when a selected
 * target does not hold the whole chain (README: Incremental archives).
 */
export function decideLevel(input: LevelInput): LevelDecision {
  const full = (why: string): LevelDecision => ({ level: 0, base: [], fullBecause: why });
  const { state, config } = input;
  if (!state || !input.haveFileState) return full('no previous state in state_dir');
  if (state.sources !== input.sources) return full('the sources in the config changed');
  if (state.chain.length >= config.full_every) return full(`every ${ordinal(config.full_every)} archive is a full one`);
  const age = (input.now.getTime() - Date.parse(state.fullCreated)) / 1000;
  if (config.full_after !== undefined && !(age <= config.full_after)) return full(`the chain's full archive ${state.chain[0]} is older than full_after`);
  const lack = input.lacking[0];
  if (lack) return full(`target ${lack.target} does not hold ${lack.archive} of the chain`);
  return { level: state.chain.length, parent: state.chain.at(-1)!, base: [...state.chain] };
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${s}`;
}
