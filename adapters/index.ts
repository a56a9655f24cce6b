import type { AdapterDefinition } from './definition.js';
import local from '../../adapters/local/index.js';
import usb from '../../adapters/usb/index.js';
import s3 from '../../adapters/s3/index.js';
import sftp from '../../adapters/sftp/index.js';
import rsync from '../../adapters/rsync/index.js';
import gdrive from '../../adapters/gdrive/index.js';

/**
 * Every target type Ferry knows. Adding a type means adding its folder under
 * `adapters/` and one line here; configs then use it with no other change.
 */
export const ADAPTERS: readonly AdapterDefinition[] = [local, usb, s3, gdrive, sftp, rsync] as unknown as AdapterDefinition[];

export function adapterDefinition(type: string): AdapterDefinition | undefined {
  return ADAPTERS.find((a) => a.type === type);
}
