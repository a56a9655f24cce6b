import type { LoadedConfig } from '../../config/load.js';
import type { DecryptKeys } from '../../restore/decrypt.js';
import { resolveUserPath } from '../../util/paths.js';

/** Decryption keys from `--identity` files, the configured passphrase, or FERRY_PASSPHRASE. */
export function decryptKeys(config: LoadedConfig, identities: string[] | undefined): DecryptKeys {
  return {
    identityFiles: (identities ?? []).map((f) => resolveUserPath(process.cwd(), f)),
    passphrase: config.encryption?.passphrase ?? process.env.FERRY_PASSPHRASE,
  };
}
