import type { ConfigIssue } from '../errors.js';
import { adapterDefinition } from '../../adapters/index.js';
import type { KeyPath } from './interpolate.js';
import type { Config } from './schema.js';

/**
 * Two targets of one config that resolve to the same place (the same
 * directory after `~`, relative paths and symlinks; the same endpoint,
 * bucket and prefix; the same host, port and directory, whether by sftp or
 * rsync) are a config error naming both: each one's retention would delete
 * the other's archives. Each adapter type says where it stores objects
 * (`AdapterDefinition.location`); this compares those places.
 */
export function checkTargetPlaces(
  config: Config,
  configDir: string,
  lineOf: (p: KeyPath) => number | undefined,
  issues: ConfigIssue[],
): void {
  const seen = new Map<string, string>();
  for (const [name, target] of Object.entries(config.targets)) {
    const def = adapterDefinition(String(target.type));
    let place: string | undefined;
    try {
      place = def?.location?.(target as never, { configDir });
    } catch {
      place = undefined; // a place that cannot be worked out is never called a duplicate
    }
    if (place === undefined) continue;
    const first = seen.get(place);
    if (first !== undefined) {
      const p = ['targets', name];
      issues.push({ path: p.join('.'), line: lineOf(p), message: `targets ${first} and ${name} resolve to the same place (${place}); each one's retention would delete the other's archives` });
    } else {
      seen.set(place, name);
    }
  }
}
