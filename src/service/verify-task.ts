import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { decryptKeys } from '../restore/keys.js';
import { verifyArchive } from '../restore/verify.js';
import { selectTargetNames } from '../storage/targets.js';
import { resolveUserPath } from '../util/paths.js';
import type { VerifyOutcome } from './notify/payload.js';

/**
 * Scheduled verification: reads back the latest complete archive on
 * `verify.target` (default: every target), as `ferry verify` does. Never
 * rejects; each target's failure is in its outcome.
 */
export async function verifyLatest(config: LoadedConfig, v: NonNullable<Config['verify']>, log: Logger, signal: AbortSignal): Promise<VerifyOutcome[]> {
  const identities = v.identity_file ? [resolveUserPath(config.configDir, v.identity_file)] : undefined;
  let names: string[];
  try {
    names = selectTargetNames(config, v.target ? [v.target] : undefined);
  } catch (err) {
    return [{ target: v.target ?? '(any)', ok: false, error: describeError(err), durationMs: 0 }];
  }
  const outcomes: VerifyOutcome[] = [];
  for (const name of names) {
    const t0 = Date.now();
    try {
      const r = await verifyArchive(config, { which: v.sample, from: name }, { keys: decryptKeys(config, identities), log, signal });
      outcomes.push({ target: name, ok: r.ok, archive: r.archive, error: r.error, durationMs: Date.now() - t0 });
    } catch (err) {
      outcomes.push({ target: name, ok: false, error: describeError(err), durationMs: Date.now() - t0 });
    }
  }
  return outcomes;
}
