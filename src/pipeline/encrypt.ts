import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import type { EncryptionConfig } from '../config/schema.js';
import { resolveUserPath } from '../util/paths.js';
import { parseSshEd25519PublicKey, sshEd25519Recipient } from '../crypto/ssh-ed25519.js';
import { createAgeHeader, scryptRecipient } from '../crypto/age-header.js';
import { createAgeEncryptStream } from '../crypto/age-file.js';

export interface ResolvedEncryption {
  recipients: string[];
  passphrase?: string;
}

/** Reads `recipients_file` (one recipient per line, `#` comments) and checks every recipient. */
export async function resolveEncryption(enc: EncryptionConfig, configDir: string): Promise<ResolvedEncryption> {
  if (enc.passphrase !== undefined) return { recipients: [], passphrase: enc.passphrase };
  let recipients = enc.recipients ?? [];
  if (enc.recipients_file) {
    const file = resolveUserPath(configDir, enc.recipients_file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`encryption.recipients_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    recipients = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (recipients.length === 0) throw new Error(`encryption.recipients_file: ${file} holds no recipients`);
  }
  for (const r of recipients) {
    if (/^age1[0-9a-z]+$/.test(r)) continue;
    if (r.startsWith('ssh-ed25519 ')) {
      try {
        parseSshEd25519PublicKey(r);
        continue;
      } catch (err) {
        throw new Error(`encryption.recipients: "${r.slice(0, 32)}...": ${(err as Error).message}`);
      }
    }
    throw new Error(`encryption.recipients: "${r.slice(0, 24)}..." is not an age X25519 recipient (age1...) or an ssh-ed25519 public key; make one with \`ferry keygen\``);
  }
  return { recipients };
}

/** Short, stable fingerprints of the recipients for the manifest (never the passphrase). */
export function recipientFingerprints(enc: ResolvedEncryption): string[] {
  if (enc.passphrase !== undefined) return ['scrypt'];
  return enc.recipients.map((r) => `${r.slice(0, 12)}…${r.slice(-6)} sha256:${createHash('sha256').update(r).digest('hex').slice(0, 16)}`);
}

/**
 * Encrypts a stream into a standard binary age file, as it flows. The header
 * is made (and, for a passphrase, scrypt run) before this resolves; the payload
 * is sealed on `node:crypto` (see crypto/age-payload.ts). An error on either
 * side destroys both, so an error on `input` surfaces on the returned stream.
 */
export async function encryptStream(input: Readable, enc: ResolvedEncryption, scryptWorkFactor = 18): Promise<Readable> {
  const recipients = enc.passphrase !== undefined
    ? [scryptRecipient(enc.passphrase, scryptWorkFactor)]
    : enc.recipients.map((r) => (r.startsWith('ssh-ed25519 ') ? sshEd25519Recipient(r) : r));
  const out = createAgeEncryptStream(await createAgeHeader(recipients));
  pipeline(input, out, () => {});
  return out;
}
