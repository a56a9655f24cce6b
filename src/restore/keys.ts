import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { resolveUserPath } from '../util/paths.js';
import type { DecryptKeys } from './decrypt.js';

/**
 * Decryption keys from `--identity` files (relative to the current
 * directory), the configured passphrase, or FERRY_PASSPHRASE. A
 * FERRY_PASSPHRASE that is set but empty is a UsageError rather than a
 * passphrase: an empty passphrase is never a key.
 */
export function decryptKeys(config: LoadedConfig, identities: string[] | undefined): DecryptKeys {
  const configured = config.encryption?.passphrase;
  const env = process.env.FERRY_PASSPHRASE;
  if (configured === undefined && env === '') {
    throw new UsageError('FERRY_PASSPHRASE is set but empty; set it to the passphrase, or unset it and pass --identity FILE');
  }
  return {
    identityFiles: (identities ?? []).map((f) => resolveUserPath(process.cwd(), f)),
    passphrase: configured ?? env,
  };
}

/** True when `keys` hold anything that could open an encrypted archive. */
export function hasKeys(keys: DecryptKeys): boolean {
  return keys.identityFiles.length > 0 || keys.passphrase !== undefined;
}
