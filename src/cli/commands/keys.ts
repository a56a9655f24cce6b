import type { LoadedConfig } from '../../config/load.js';
import { ExitError } from '../../errors.js';
import type { DecryptKeys } from '../../restore/decrypt.js';
import { resolveUserPath } from '../../util/paths.js';

/**
 * Decryption keys from `--identity` files, the configured passphrase, or
 * FERRY_PASSPHRASE. A FERRY_PASSPHRASE that is set but empty is a usage
 * error (exit 2) rather than a passphrase: an empty passphrase is never a key.
 */
export function decryptKeys(config: LoadedConfig, identities: string[] | undefined): DecryptKeys {
  const configured = config.encryption?.passphrase;
  const env = process.env.FERRY_PASSPHRASE;
  if (configured === undefined && env === '') {
    throw new ExitError(2, 'FERRY_PASSPHRASE is set but empty; set it to the passphrase, or unset it and pass --identity FILE');
  }
  return {
    identityFiles: (identities ?? []).map((f) => resolveUserPath(process.cwd(), f)),
    passphrase: configured ?? env,
  };
}
