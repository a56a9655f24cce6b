import type { AdapterDefinition } from './definition.js';
import local from '../../adapters/local/index.js';
import usb from '../../adapters/usb/index.js';
import s3 from '../../adapters/s3/index.js';

/**
 * Every target type Ferry knows. Adding a type means adding its folder under
 * `adapters/` and one line here; configs then use it with no other change.
 */
export const ADAPTERS: readonly AdapterDefinition[] = [local, usb, s3] as unknown as AdapterDefinition[];

export function adapterDefinition(type: string): AdapterDefinition | undefined {
  return ADAPTERS.find((a) => a.type === type);
}
