import type { LoadedConfig } from '../config/load.js';
import type { TargetConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { StorageAdapter } from './adapter.js';
import type { AdapterDefinition } from './definition.js';
import { DryRunAdapter } from './wrappers/dry-run.js';
import { withContract } from './wrappers/contract.js';
import { withFileStaging } from './wrappers/file-staging.js';
import { LimitAdapter } from './wrappers/limit.js';
import { RetryAdapter } from './wrappers/retry.js';
import { describeError, UsageError } from '../errors.js';

export interface Target {
  name: string;
  config: TargetConfig;
  adapter: StorageAdapter;
}

/** Names of the selected targets, in config order. Unknown names are a UsageError. */
export function selectTargetNames(config: LoadedConfig, wanted: string[] | undefined): string[] {
  const all = Object.keys(config.targets);
  if (!wanted || wanted.length === 0) return all;
  for (const w of wanted) {
    if (!all.includes(w)) throw new UsageError(`unknown target "${w}"; the config has: ${all.join(', ')}`);
  }
  return all.filter((n) => wanted.includes(n));
}

/**
 * Looks up an adapter definition by its `type:`; undefined for an unknown
 * type. The concrete list lives in `adapters/index.ts`, so the storage core
 * never imports an adapter.
 */
export type AdapterLookup = (type: string) => AdapterDefinition | undefined;

/**
 * Creates one target's adapter (its definition found through `lookup`) with the standard wrappers around it:
 * retry (retryable errors, backoff) → file staging (for adapters that
 * cannot take a stream) → the shared contract (keys, declared sizes, aborts,
 * free space) → concurrency limit → dry run.
 */
export async function createTarget(lookup: AdapterLookup, config: LoadedConfig, name: string, log: Logger, options: { dryRun?: boolean } = {}): Promise<Target> {
  const tc = config.targets[name];
  if (!tc) throw new UsageError(`unknown target "${name}"`);
  const def = lookup(String(tc.type));
  if (!def) throw new UsageError(`targets.${name}.type: unknown target type "${String(tc.type)}"`);
  const { type: _t, keep: _k, timezone: _z, retries, concurrency, format: _f, encrypt: _e, verify_unchanged: _v, ...options_ } = tc as TargetConfig & Record<string, unknown>;
  let adapter: StorageAdapter;
  try {
    adapter = await def.create(name, options_ as never, { configDir: config.configDir, log });
  } catch (err) {
    throw new UsageError(`targets.${name}: ${describeError(err)}`, { cause: err });
  }
  adapter = new RetryAdapter(adapter, {
    retries: retries as number,
    onRetry: (what, attempt, err) => log.warn(`${name}: ${what} failed (${describeError(err)}); retry ${attempt} of ${retries}`),
  });
  // Adapters that need a finished file get one staged from the stream; as a file it is replayable, so it can be retried.
  adapter = withFileStaging(adapter, config.stagingDir);
  adapter = withContract(adapter);
  adapter = new LimitAdapter(adapter, (concurrency as number | undefined) ?? adapter.capabilities.maxConcurrency);
  if (options.dryRun) adapter = new DryRunAdapter(adapter, log);
  return { name, config: tc, adapter };
}

/** Closes every target, ignoring errors (connections are best-effort to tear down). */
export async function closeTargets(targets: Target[]): Promise<void> {
  await Promise.all(targets.map((t) => t.adapter.close?.().catch(() => {})));
}
