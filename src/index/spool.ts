import { rm } from 'node:fs/promises';
import type { LoadedConfig } from '../config/load.js';
import { makeStagingDir } from '../state/staging-dirs.js';
import { SortedSpool } from '../util/sorted-spool.js';

/** JSON with every non-ASCII character escaped: one ASCII line, as SortedSpool needs, that JSON.parse reads back unchanged. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A sort line: `key`, a tab, then `value` (neither holds a tab: both are ASCII JSON). Lines sort by key first. */
export function sortLine(key: unknown, value: unknown): string {
  return `${asciiJson(key)}\t${asciiJson(value)}`;
}

export function splitSortLine<K, V>(line: string): { key: string; k: K; v: V } {
  const tab = line.indexOf('\t');
  const key = line.slice(0, tab);
  return { key, k: JSON.parse(key) as K, v: JSON.parse(line.slice(tab + 1)) as V };
}

/**
 * Runs `fn` with sorted spools in a private working directory under the
 * job's staging_dir, removed afterwards whatever happens: lists of entries
 * that must be sorted (diff, find) never stay in memory.
 */
export async function withSpools<T>(config: LoadedConfig, label: string, count: number, fn: (spools: SortedSpool[]) => Promise<T>): Promise<T> {
  const dir = await makeStagingDir(config.stagingDir, label);
  const spools = Array.from({ length: count }, (_, i) => new SortedSpool(dir, `sorted-${i}`));
  try {
    return await fn(spools);
  } finally {
    for (const s of spools) s.remove();
    await rm(dir, { recursive: true, force: true });
  }
}
