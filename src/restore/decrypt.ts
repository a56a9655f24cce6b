import { readFile } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { sshEd25519Identity } from '../crypto/ssh-ed25519.js';
import { createAgeDecryptStream } from '../crypto/age-file.js';
import { scryptIdentity } from '../crypto/age-header.js';
import { ageLibrary } from '../crypto/age-library.js';
import { DecryptError } from '../errors.js';

export interface DecryptKeys {
  /** age identity files (`AGE-SECRET-KEY-1...` lines, `#` comments). */
  identityFiles: string[];
  passphrase?: string;
}

/**
 * Loads identities and returns a function that decrypts one binary age
 * stream: it resolves once the header authenticated with one of the keys
 * (age-encryption unwraps the file key), and rejects with a DecryptError
 * otherwise (as do unreadable identity files). Damage in the payload (see crypto/age-payload.ts) is an
 * error on the returned stream, so the caller can check the stored bytes and
 * name a damaged archive as such.
 */
export async function makeDecrypter(keys: DecryptKeys): Promise<(input: Readable, what: string) => Promise<Readable>> {
  const d = new (await ageLibrary()).Decrypter();
  let count = 0;
  for (const file of keys.identityFiles) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new DecryptError(`--identity: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
      try {
        d.addIdentity(sshEd25519Identity(text));
      } catch (err) {
        throw new DecryptError(`--identity: ${file}: ${(err as Error).message}`);
      }
      count++;
      continue;
    }
    const ids = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (ids.length === 0) throw new DecryptError(`--identity: ${file} holds no age identity (AGE-SECRET-KEY-1...) or OpenSSH Ed25519 private key`);
    for (const id of ids) d.addIdentity(id);
    count += ids.length;
  }
  if (keys.passphrase !== undefined) {
    d.addIdentity(scryptIdentity(keys.passphrase));
    count++;
  }
  // Identities are tried in order, so this last one is asked only when no key matched a recipient.
  let noneMatched = false;
  d.addIdentity({ unwrapFileKey: () => { noneMatched = true; return null; } });
  return async (input, what) => {
    noneMatched = false;
    if (count === 0) {
      throw new DecryptError(`${what} is encrypted: pass --identity FILE, or set the passphrase (encryption.passphrase or FERRY_PASSPHRASE)`);
    }
    const out = createAgeDecryptStream((header) => d.decryptHeader(header));
    pipeline(input, out, () => {});
    try {
      await out.ready;
      return out;
    } catch (err) {
      out.destroy();
      if (noneMatched) {
        const tried = keys.identityFiles.length ? `the identities in ${keys.identityFiles.join(', ')}` : 'the passphrase';
        throw new DecryptError(`cannot decrypt ${what}: ${tried} ${keys.identityFiles.length ? 'do' : 'does'} not match its recipients (wrong key or passphrase)`, { cause: err });
      }
      throw new DecryptError(`cannot decrypt ${what}: ${(err as Error).message}`, { cause: err });
    }
  };
}
