import type { LoadedConfig } from '../config/load.js';
import { DamagedArchiveError, describeError, FerryError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DecryptKeys } from './decrypt.js';
import { hasKeys } from './keys.js';
import { withArchive } from './locate.js';
import { gunzipped, readArchive, type ReadProgress } from './open.js';
import { readTar } from './read-tar.js';
import { selectTargetNames } from '../storage/targets.js';
import { checkStoredBytes } from './verify-stream.js';
import { chainOf } from './chain.js';

export interface VerifyReport {
  target: string;
  archive?: string;
  ok: boolean;
  files?: number;
  bytes?: number;
  /** False when the archive is encrypted and no key was given: only the stored bytes were checked. */
  contentsRead?: boolean;
  /** For an incremental archive: every archive that was checked, oldest first. */
  chain?: string[];
  error?: string;
}

/**
 * Verifies one archive (`which`: a name or `latest`) on one target (`from`;
 * undefined: the first that holds it): the stored bytes against the
 * manifest, then, when it can decrypt, every file against the inventory.
 * Resolves with an ok report; rejects when anything does not match (a
 * DamagedArchiveError when files differ from the inventory).
 */
export async function verifyArchive(
  config: LoadedConfig,
  query: { which: string; from?: string },
  options: { keys: DecryptKeys; log: Logger; signal?: AbortSignal; progress?: ReadProgress },
): Promise<VerifyReport> {
  const { keys, log, signal, progress } = options;
  return withArchive(config, query, { log, signal }, ({ target, manifest }) => verifyLocated(target.name, manifest.archive, async () => {
    const where = target.name;
    if (manifest.encrypted && !hasKeys(keys)) {
      await checkStoredBytes(target.adapter, manifest, signal);
      log.warn(`${where}: ${manifest.archive} is encrypted and no identity was given; checked its sha256 only`);
      return { target: where, archive: manifest.archive, ok: true, contentsRead: false };
    }
    // An incremental archive is checked with every archive of its chain, each against its own manifest and inventory.
    const chain = await chainOf(target, manifest, signal);
    let files = 0;
    let bytes = 0;
    for (const m of chain) {
      const check = await readArchive(target, m, { decrypt: keys, signal, progress },
        (stream) => readTar(gunzipped(stream), { spoolDir: config.stagingDir, archive: m.archive, onFile: progress && ((bytes) => progress.file(bytes)) }));
      if (check.mismatched) {
        throw new DamagedArchiveError(`${where}: ${m.archive}: ${check.mismatched} file(s) differ from the inventory, first ${check.mismatches[0]}`);
      }
      files += check.files;
      bytes += check.bytes;
    }
    return { target: where, archive: manifest.archive, ok: true, files, bytes, contentsRead: true, ...(chain.length > 1 ? { chain: chain.map((m) => m.archive) } : {}) };
  }));
}

/** A verification that failed on a known target, after the archive was found there. */
export class TargetVerifyError extends FerryError {
  constructor(readonly target: string, readonly archive: string, cause: unknown) {
    super(describeError(cause), { cause });
  }
}

async function verifyLocated(target: string, archive: string, verify: () => Promise<VerifyReport>): Promise<VerifyReport> {
  try {
    return await verify();
  } catch (err) {
    throw new TargetVerifyError(target, archive, err);
  }
}

/**
 * Verifies `which` on one target (`from`; undefined: the first that holds
 * it), as `ferry verify` and `POST /api/verify` do for each target asked.
 * Never rejects: a failure is a report that names the target it happened
 * on, or, when no target could be asked or none holds the archive, every
 * target that was asked.
 */
export async function verifyOn(
  config: LoadedConfig,
  which: string,
  from: string | undefined,
  options: { keys: DecryptKeys; log: Logger; signal?: AbortSignal; progress?: ReadProgress },
): Promise<VerifyReport> {
  try {
    return await verifyArchive(config, { which, from }, options);
  } catch (err) {
    if (err instanceof TargetVerifyError) return { target: err.target, archive: err.archive, ok: false, error: err.message };
    return { target: from ?? selectTargetNames(config, undefined).join(', '), ok: false, error: describeError(err) };
  }
}
