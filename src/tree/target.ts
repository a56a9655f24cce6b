import type { LoadedConfig } from '../config/load.js';
import { describeError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AdapterLookup, Target } from '../storage/targets.js';
import { TreeView } from './view.js';

/**
 * Opens a `format: tree` target: its type's tree adapter, seen through a
 * `TreeView` so every command reads snapshots as it reads archives. Unknown
 * names, types without tree support and bad options are UsageErrors.
 */
export async function openTreeTarget(lookup: AdapterLookup, config: LoadedConfig, name: string, log: Logger): Promise<Target> {
  const tc = config.targets[name];
  if (!tc) throw new UsageError(`unknown target "${name}"`);
  const def = lookup(String(tc.type));
  if (!def?.createTree) throw new UsageError(`targets.${name}.format: type ${String(tc.type)} cannot hold format: tree snapshots`);
  const { type: _t, keep: _k, timezone: _z, retries: _r, concurrency: _c, format: _f, encrypt: _e, verify_unchanged: _v, ...options } = tc;
  try {
    const tree = await def.createTree(name, options as never, { configDir: config.configDir, log });
    return { name, config: tc, adapter: new TreeView(tree) };
  } catch (err) {
    throw new UsageError(`targets.${name}: ${describeError(err)}`, { cause: err });
  }
}
