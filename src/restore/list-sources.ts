import type { LoadedConfig } from '../config/load.js';
import { DamagedArchiveError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SourceSummary } from '../storage/manifest.js';
import type { DecryptKeys } from './decrypt.js';
import { hasKeys } from './keys.js';
import { withArchive, type ArchiveQuery } from './locate.js';
import { gunzipped, readArchive } from './open.js';
import { readTar } from './read-tar.js';

export interface ArchiveSources {
  archive: string;
  target: string;
  /** `inventory`: read from the archive's inventory.json; `manifest`: the archive is encrypted and no key was given, so the manifest's summary is shown. */
  readFrom: 'inventory' | 'manifest';
  sources: SourceSummary[];
}

/**
 * What an archive holds, source by source (as, kind, files, bytes, origin,
 * and the inventory's facts such as dump format). The whole archive is read
 * and checked against its manifest's sha256 on the way, as a restore would;
 * nothing is written. An encrypted archive with no key falls back to the
 * (unencrypted) manifest's summary, with a warning.
 */
export async function listArchiveSources(
  config: LoadedConfig,
  options: ArchiveQuery & { keys: DecryptKeys; log: Logger; signal?: AbortSignal },
): Promise<ArchiveSources> {
  const { keys, log, signal } = options;
  return withArchive(config, options, { log, signal }, async ({ target, manifest }) => {
    const base = { archive: manifest.archive, target: target.name };
    if (manifest.encrypted && !hasKeys(keys)) {
      log.warn(`${manifest.archive} is encrypted and no identity was given; showing the summary from its manifest`);
      return { ...base, readFrom: 'manifest', sources: manifest.sources ?? [] };
    }
    const { inventory } = await readArchive(target, manifest, { decrypt: keys, signal }, (stream) => readTar(gunzipped(stream), { hashFiles: false }));
    if (!inventory) throw new DamagedArchiveError(`cannot read ${manifest.archive} (from ${target.name}): it has no inventory.json`);
    return { ...base, readFrom: 'inventory', sources: inventory.sources };
  });
}
