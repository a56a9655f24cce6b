import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { ageLibrary } from './age-library.js';
import { NONCE, TAG } from './age-payload.js';

/**
 * The age header (age-encryption.org/v1) for a file whose payload Ferry
 * encrypts itself (see age-payload.ts): age-encryption writes the stanzas,
 * encodes the header and computes its MAC; Ferry only needs the file key.
 */
export interface AgeHeader {
  /** The header bytes, through the `--- MAC` line and its newline. */
  header: Buffer;
  /** The 16-byte file key the header wraps; the payload key derives from it. */
  fileKey: Buffer;
}

const VERSION_LINE = 'age-encryption.org/v1\n';
/** Headers larger than this are refused when reading (age's own headers are a few hundred bytes per recipient). */
const MAX_HEADER = 1 << 20;

/**
 * A header for these recipients (`age1...` strings or Recipient objects). age-encryption
 * exposes neither the file key nor its header encoder, so a first recipient that
 * wraps nothing captures the file key, and the header is cut from an empty age
 * file it encrypts: by the age format that file is header || 16-byte nonce ||
 * one 16-byte tag, and that nonce is discarded (the real payload gets a fresh one).
 */
export async function createAgeHeader(recipients: Array<string | Recipient>): Promise<AgeHeader> {
  const e = new (await ageLibrary()).Encrypter();
  let fileKey: Buffer | undefined;
  e.addRecipient({
    wrapFileKey(key: Uint8Array): Stanza[] {
      fileKey = Buffer.from(key);
      return [];
    },
  });
  for (const r of recipients) e.addRecipient(r);
  const empty = Buffer.from(await e.encrypt(new Uint8Array(0)));
  const header = empty.subarray(0, empty.length - NONCE - TAG);
  if (!fileKey || fileKey.length !== 16 || headerEnd(header) !== header.length) {
    throw new Error('age-encryption produced an unexpected file layout; cannot encrypt the payload');
  }
  return { header: Buffer.from(header), fileKey };
}

const SCRYPT_LABEL = Buffer.from('age-encryption.org/v1/scrypt');

/** scrypt on the thread pool (it does not block the event loop), with the memory N = 2^logN and r = 8 need. */
function scryptKey(passphrase: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(passphrase, Buffer.concat([SCRYPT_LABEL, salt]), 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (err, k) => (err ? reject(err) : resolve(k))));
}

/**
 * age's scrypt passphrase recipient on `node:crypto` (age spec, "scrypt"):
 * salt = "age-encryption.org/v1/scrypt" || 16 random bytes, N = 2^logN, r = 8,
 * p = 1, and the file key sealed with ChaCha20-Poly1305 under a zero nonce.
 * age-encryption's scrypt recipient cannot be combined with capturing the file
 * key; this one runs natively on the thread pool (1.8 s against 2.3 s for the
 * JavaScript scrypt at logN 18 on 2 busy cores, and it does not block the event loop).
 * It must be the only recipient of a file.
 */
export function scryptRecipient(passphrase: string, logN: number): Recipient {
  return {
    async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
      const salt = randomBytes(16);
      const key = await scryptKey(passphrase, salt, logN);
      const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: TAG });
      const body = Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
      return [new (await ageLibrary()).Stanza(['scrypt', salt.toString('base64').replace(/=+$/, ''), String(logN)], body)];
    },
  };
}

/**
 * The matching identity, with the same checks as age-encryption's: the scrypt
 * stanza must be the only one, its work factor at most 20 (a hostile file
 * cannot make restore spend more than about 1 GiB and seconds of CPU); a wrong
 * passphrase matches nothing (null), a malformed stanza throws.
 */
export function scryptIdentity(passphrase: string): Identity {
  return {
    async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
      const s = stanzas.find((x) => x.args[0] === 'scrypt');
      if (!s) return null;
      if (stanzas.length !== 1) throw new Error('scrypt recipient is not the only one in the header');
      const [, saltB64 = '', logArg = ''] = s.args;
      const salt = Buffer.from(saltB64, 'base64');
      if (s.args.length !== 3 || !/^[1-9][0-9]*$/.test(logArg) || !/^[A-Za-z0-9+/]{22}$/.test(saltB64) || salt.length !== 16 || s.body.length !== 32) {
        throw new Error('invalid scrypt stanza');
      }
      if (Number(logArg) > 20) throw new Error('scrypt work factor is too high');
      const key = await scryptKey(passphrase, salt, Number(logArg));
      const d = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: TAG });
      d.setAuthTag(s.body.subarray(16));
      const fileKey = d.update(s.body.subarray(0, 16));
      try {
        d.final();
        return fileKey;
      } catch {
        return null;
      }
    },
  };
}

/**
 * Where the header ends in `bytes` (the offset after the `--- MAC` line's
 * newline), or -1 when more bytes are needed. Throws when `bytes` cannot be the
 * start of a binary age file, or the header grows beyond 1 MiB.
 */
export function headerEnd(bytes: Buffer): number {
  const prefix = Math.min(bytes.length, VERSION_LINE.length);
  if (bytes.toString('latin1', 0, prefix) !== VERSION_LINE.slice(0, prefix)) {
    const armored = bytes.toString('latin1', 0, 16).startsWith('-----BEGIN AGE');
    throw new Error(armored ? 'ASCII-armored age files are not supported; decode with age -d first' : 'not an age file: it does not start with "age-encryption.org/v1"');
  }
  const mac = bytes.indexOf('\n--- ', 0, 'latin1');
  const nl = mac < 0 ? -1 : bytes.indexOf(0x0a, mac + 1);
  if (nl >= 0) return nl + 1;
  if (bytes.length > MAX_HEADER) throw new Error(`the age header is larger than ${MAX_HEADER} bytes`);
  return -1;
}
