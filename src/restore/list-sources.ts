import type { LoadedConfig } from '../config/load.js';
import { ExitError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SourceSummary } from '../pipeline/inventory.js';
import { closeTargets } from '../storage/targets.js';
import type { DecryptKeys } from './decrypt.js';
import { readManifest } from './fetch.js';
import { locateArchive } from './locate.js';
import { gunzipped, readArchive } from './open.js';
import { readTar } from './read-tar.js';
import type { ArchiveQuery } from './source.js';

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
  const located = await locateArchive(config, options, log, signal);
  const where = located.target.name;
  try {
    const manifest = await readManifest(located.target.adapter, located.archive.name, signal);
    const base = { archive: manifest.archive, target: where };
    if (manifest.encrypted && keys.identityFiles.length === 0 && keys.passphrase === undefined) {
      log.warn(`${manifest.archive} is encrypted and no identity was given; showing the summary from its manifest`);
      return { ...base, readFrom: 'manifest', sources: manifest.sources ?? [] };
    }
    const { inventory } = await readArchive(located.target, manifest, { decrypt: keys, signal }, (stream) => readTar(gunzipped(stream), { hashFiles: false }));
    if (!inventory) throw new ExitError(1, `cannot read ${manifest.archive} (from ${where}): it has no inventory.json`);
    return { ...base, readFrom: 'inventory', sources: inventory.sources };
  } finally {
    await closeTargets(located.opened);
  }
}
