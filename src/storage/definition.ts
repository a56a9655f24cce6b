import type { z } from 'zod';
import type { StorageAdapter } from './adapter.js';
import type { TreeAdapter } from './tree-adapter.js';
import type { Logger } from '../log.js';

export interface AdapterContext {
  /** Directory of the config file; relative paths in options are resolved against it. */
  configDir: string;
  log: Logger;
}

/**
 * Everything the core knows about one target type. `type:` in the YAML equals
 * the adapter's folder name under `adapters/`. `create` loads the heavy
 * implementation lazily so `ferry run` to a local target never loads an SDK.
 */
export interface AdapterDefinition<S extends z.ZodRawShape = z.ZodRawShape> {
  type: string;
  /** Option keys for this type, besides the common target keys (`type`, `keep`, `timezone`, ...). */
  options: S;
  /**
   * Where a target of this type keeps its objects, as a canonical string
   * (directories with symlinks resolved, host names lower-cased, default
   * ports filled in). Two targets of one config with equal locations are a
   * config error, since each one's retention would prune the other's
   * archives. Synchronous and without network access; it runs while the
   * config is loaded. Undefined (or no method) means "cannot tell".
   */
  location?(options: z.infer<z.ZodObject<S>>, context: { configDir: string }): string | undefined;
  /** Present on types that can hold `format: tree` snapshots (a browsable directory per run). */
  createTree?(
    name: string,
    options: z.infer<z.ZodObject<S>>,
    context: AdapterContext,
  ): Promise<TreeAdapter>;
  create(
    name: string,
    options: z.infer<z.ZodObject<S>>,
    context: AdapterContext,
  ): Promise<StorageAdapter>;
}

/** Helper that keeps the option type inference of one definition. */
export function defineAdapter<S extends z.ZodRawShape>(def: AdapterDefinition<S>): AdapterDefinition<S> {
  return def;
}
