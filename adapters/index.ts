import type { LoadedConfig } from '../src/config/load.js';
import type { Logger } from '../src/log.js';
import type { AdapterDefinition } from '../src/storage/definition.js';
import { createTarget, type Target } from '../src/storage/targets.js';
import { openTreeTarget } from '../src/tree/target.js';
import local from './local/index.js';
import usb from './usb/index.js';
import s3 from './s3/index.js';
import sftp from './sftp/index.js';
import rsync from './rsync/index.js';
import gdrive from './gdrive/index.js';

/**
 * Every target type Ferry knows. Adding a type means adding its folder under
 * this folder and one line here; configs then use it with no other change.
 */
export const ADAPTERS: readonly AdapterDefinition[] = [local, usb, s3, gdrive, sftp, rsync] as unknown as AdapterDefinition[];

export function adapterDefinition(type: string): AdapterDefinition | undefined {
  return ADAPTERS.find((a) => a.type === type);
}

/**
 * Opens one configured target with every known adapter type and the standard
 * wrappers (see `createTarget`). Unknown names or types are usage errors.
 */
export function openTarget(config: LoadedConfig, name: string, log: Logger, options: { dryRun?: boolean } = {}): Promise<Target> {
  if (config.targets[name]?.format === 'tree') return openTreeTarget(adapterDefinition, config, name, log);
  return createTarget(adapterDefinition, config, name, log, options);
}
