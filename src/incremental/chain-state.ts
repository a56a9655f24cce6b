import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `state_dir/incremental.json`: the chain the next archive builds on. */
export interface ChainState {
  /** The sources as configured when the chain started; a different value starts a new full archive. */
  sources: string;
  /** The archives of the chain, oldest (the full archive) first. */
  chain: string[];
  /** When the full archive of the chain was made (ISO). */
  fullCreated: string;
}

const FILE = 'incremental.json';

/** The recorded chain, or undefined when there is none or it cannot be read (the next archive is then a full one). */
export function readChainState(stateDir: string): ChainState | undefined {
  try {
    const s = JSON.parse(readFileSync(join(stateDir, FILE), 'utf8')) as ChainState;
    return Array.isArray(s.chain) && s.chain.length > 0 && typeof s.sources === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the recorded chain atomically. */
export function writeChainState(stateDir: string, state: ChainState): void {
  const tmp = join(stateDir, `.${FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, join(stateDir, FILE));
}
