import { readFile } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { sshEd25519Identity } from '../crypto/ssh-ed25519.js';
import { createAgeDecryptStream } from '../crypto/age-file.js';
import type { Identity } from 'age-encryption';
import { scryptIdentity, unwrapHeader, x25519Identity } from '../crypto/age-header.js';
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
 * (see `headerReader`), and rejects with a DecryptError
 * otherwise (as do unreadable identity files). Damage in the payload (see crypto/age-payload.ts) is an
 * error on the returned stream, so the caller can check the stored bytes and
 * name a damaged archive as such.
 */
export async function makeDecrypter(keys: DecryptKeys): Promise<(input: Readable, what: string) => Promise<Readable>> {
  const identities: Array<Identity | string> = [];
  for (const file of keys.identityFiles) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new DecryptError(`--identity: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
      try {
        identities.push(sshEd25519Identity(text));
      } catch (err) {
        throw new DecryptError(`--identity: ${file}: ${(err as Error).message}`);
      }
      continue;
    }
    const ids = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (ids.length === 0) throw new DecryptError(`--identity: ${file} holds no age identity (AGE-SECRET-KEY-1...) or OpenSSH Ed25519 private key`);
    for (const id of ids) identities.push((await x25519Identity(id)) ?? id);
  }
  if (keys.passphrase !== undefined) identities.push(scryptIdentity(keys.passphrase));
  const count = identities.length;
  // Identities are tried in order, so this last one is asked only when no key matched a recipient.
  let noneMatched = false;
  identities.push({ unwrapFileKey: () => { noneMatched = true; return null; } });
  const unwrap = await headerReader(identities);
  return async (input, what) => {
    noneMatched = false;
    if (count === 0) {
      throw new DecryptError(`${what} is encrypted: pass --identity FILE, or set the passphrase (encryption.passphrase or FERRY_PASSPHRASE)`);
    }
    const out = createAgeDecryptStream(unwrap);
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

/**
 * Reads headers with Ferry's own reader when every identity is one Ferry
 * implements (X25519, ssh-ed25519, a passphrase), so age-encryption is not
 * loaded (some 0.2 s and 16 MiB); with any other (a post-quantum key)
 * age-encryption reads them.
 */
async function headerReader(identities: Array<Identity | string>): Promise<(header: Buffer) => Promise<Uint8Array>> {
  const native = identities.filter((i): i is Identity => typeof i !== 'string');
  if (native.length === identities.length) return (header) => unwrapHeader(header, native);
  const d = new (await ageLibrary()).Decrypter();
  for (const identity of identities) d.addIdentity(identity);
  return (header) => d.decryptHeader(header);
}
