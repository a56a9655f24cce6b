import { createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { ageLibrary } from './age-library.js';
import { NONCE, TAG } from './age-payload.js';
import { b64, BASEPOINT, openFileKey, sealFileKey, x25519 } from './x25519.js';

/** The age header (age-encryption.org/v1) for a file whose payload Ferry encrypts itself (see age-payload.ts), and its file key. */
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
 * A header for these recipients (`age1...` strings or Recipient objects).
 * X25519 recipients (what `ferry keygen` and age-keygen make) and Ferry's
 * own recipient objects (scrypt, ssh-ed25519) are wrapped here on
 * `node:crypto`, and the header is encoded and authenticated here (age
 * spec, "Header"): loading age-encryption costs a run some 0.2 s and 16 MiB
 * (README: Benchmarks). A header with any other recipient string
 * (post-quantum `age1pq1...`, `age1tag1...`) is made by age-encryption.
 */
export async function createAgeHeader(recipients: Array<string | Recipient>): Promise<AgeHeader> {
  const native = await Promise.all(recipients.map((r) => (typeof r === 'string' ? x25519Recipient(r) : r)));
  if (native.some((r) => r === undefined)) return libraryHeader(recipients);
  const fileKey = randomBytes(16);
  const stanzas: Stanza[] = [];
  for (const r of native) stanzas.push(...(await r!.wrapFileKey(fileKey)));
  return { header: encodeHeader(stanzas, fileKey), fileKey };
}

/** The header text: version line, stanzas (bodies in 48-byte lines, the last one shorter, possibly empty), `---` and the HMAC-SHA-256 of all that under HKDF(file key, "header"). */
function encodeHeader(stanzas: Stanza[], fileKey: Uint8Array): Buffer {
  let text = VERSION_LINE;
  for (const s of stanzas) {
    text += `-> ${s.args.join(' ')}\n`;
    for (let i = 0; i < s.body.length; i += 48) text += `${b64(s.body.subarray(i, i + 48))}\n`;
    if (s.body.length % 48 === 0) text += '\n';
  }
  text += '---';
  return Buffer.from(`${text} ${b64(headerMac(fileKey, Buffer.from(text, 'latin1')))}\n`, 'latin1');
}

/** HMAC-SHA-256 of the header through `---`, under HKDF-SHA-256(file key, "header"). */
function headerMac(fileKey: Uint8Array, headerNoMac: Uint8Array): Buffer {
  return createHmac('sha256', Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32))).update(headerNoMac).digest();
}

const X25519_LABEL = 'age-encryption.org/v1/X25519';

/** `@scure/base`'s bech32, loaded with the first age key read: commands without encryption never load it. */
const bech32 = async (): Promise<typeof import('@scure/base').bech32> => (await (scureBase ??= import('@scure/base'))).bech32;
let scureBase: Promise<typeof import('@scure/base')> | undefined;

/**
 * age's X25519 recipient (age spec, "X25519"): an ephemeral share, the file
 * key sealed under HKDF(X25519(ephemeral, recipient), share || recipient).
 * Undefined for a string that is not one (bech32 with the `age` prefix and
 * 32 bytes): other kinds, and malformed ones, which age-encryption reports.
 */
export async function x25519Recipient(recipient: string): Promise<Recipient | undefined> {
  const codec = await bech32();
  let point: Uint8Array;
  try {
    const decoded = codec.decodeToBytes(recipient);
    if (decoded.prefix !== 'age' || decoded.bytes.length !== 32) return undefined;
    point = decoded.bytes;
  } catch {
    return undefined;
  }
  return {
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
      const ephemeral = randomBytes(32);
      const share = x25519(ephemeral, BASEPOINT);
      let secret: Buffer;
      try {
        secret = x25519(ephemeral, point);
      } catch {
        throw new Error(`encryption.recipients: "${recipient.slice(0, 24)}..." is not a usable X25519 public key`);
      }
      return [{ args: ['X25519', b64(share)], body: sealFileKey(x25519WrapKey(secret, share, point), fileKey) }];
    },
  };
}

const x25519WrapKey = (secret: Uint8Array, share: Uint8Array, recipient: Uint8Array): Buffer =>
  Buffer.from(hkdfSync('sha256', secret, Buffer.concat([share, recipient]), X25519_LABEL, 32));

/**
 * The identity of an `AGE-SECRET-KEY-1...` line (age spec, "X25519"), or
 * undefined for any other (post-quantum `AGE-SECRET-KEY-PQ-1...`, malformed),
 * which age-encryption reads. An X25519 stanza it cannot use (not two
 * arguments, a share that is not 32 bytes, a low-order share) is an error,
 * one sealed to another key is not for it (null).
 */
export async function x25519Identity(line: string): Promise<Identity | undefined> {
  const codec = await bech32();
  let scalar: Uint8Array;
  try {
    const decoded = codec.decodeToBytes(line);
    if (!line.startsWith('AGE-SECRET-KEY-1') || decoded.prefix.toUpperCase() !== 'AGE-SECRET-KEY-' || decoded.bytes.length !== 32) return undefined;
    scalar = decoded.bytes;
  } catch {
    return undefined;
  }
  const ours = x25519(scalar, BASEPOINT);
  return {
    unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
      for (const s of stanzas) {
        if (s.args[0] !== 'X25519') continue;
        if (s.args.length !== 2) throw new Error('invalid X25519 stanza');
        const share = decode64(s.args[1]!, 'X25519 stanza');
        if (share.length !== 32) throw new Error('invalid X25519 stanza');
        let secret: Buffer;
        try {
          secret = x25519(scalar, share);
        } catch {
          throw new Error('invalid X25519 stanza');
        }
        const fileKey = openFileKey(x25519WrapKey(secret, share, ours), s.body);
        if (fileKey) return fileKey;
      }
      return null;
    },
  };
}

/**
 * Reads a header (the bytes through the `--- MAC` line, see `headerEnd`)
 * the way age-encryption does: the version line, stanzas (`-> ` and
 * non-empty arguments of visible ASCII, then a canonical unpadded base64 body
 * in lines of 48 bytes, the last one shorter), and the MAC line. Asks the
 * identities in order for the file key and checks the header's MAC with it.
 * Throws when the header is malformed, no identity matches, or the MAC is wrong.
 */
export async function unwrapHeader(header: Buffer, identities: Identity[]): Promise<Uint8Array> {
  const lines = header.toString('latin1').split('\n');
  if (lines.pop() !== '' || lines[0] !== VERSION_LINE.slice(0, -1)) throw new Error(`invalid version ${lines[0] ?? 'line'}`);
  const stanzas: Stanza[] = [];
  let at = 1;
  for (let line = lines[at++]; ; line = lines[at++]) {
    if (line === undefined) throw new Error('invalid header');
    const args = line.split(' ');
    if (args.length < 2 || args.shift() !== '->') {
      if (!line.startsWith('--- ') || at !== lines.length) throw new Error('invalid header');
      const mac = decode64(line.slice(4), 'header MAC');
      const fileKey = await firstFileKey(identities, stanzas);
      const expected = headerMac(fileKey, header.subarray(0, header.length - line.length + 2));
      if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw new Error('invalid header HMAC');
      return fileKey;
    }
    if (args.some((a) => !/^[\x21-\x7e]+$/.test(a))) throw new Error('invalid stanza');
    const body: Uint8Array[] = [];
    for (;;) {
      const text = lines[at++];
      if (text === undefined) throw new Error('invalid stanza');
      const piece = decode64(text, 'stanza');
      if (piece.length > 48) throw new Error('invalid stanza');
      body.push(piece);
      if (piece.length < 48) break;
    }
    stanzas.push({ args, body: Buffer.concat(body) });
  }
}

/** Canonical unpadded base64 (age spec: no padding, no stray bits in the last character); anything else is an invalid `what`. */
function decode64(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]*$/.test(text) || b64(bytes) !== text) throw new Error(`invalid ${what}: not canonical unpadded base64`);
  return bytes;
}

async function firstFileKey(identities: Identity[], stanzas: Stanza[]): Promise<Uint8Array> {
  for (const identity of identities) {
    const fileKey = await identity.unwrapFileKey(stanzas);
    if (fileKey !== null) return fileKey;
  }
  throw new Error("no identity matched any of the file's recipients");
}

/**
 * The header as age-encryption makes it. It exposes neither the file key nor
 * its header encoder, so a first recipient that wraps nothing captures the
 * file key, and the header is cut from an empty age file it encrypts: by the
 * age format that file is header || 16-byte nonce || one 16-byte tag, and
 * that nonce is discarded (the real payload gets a fresh one).
 */
async function libraryHeader(recipients: Array<string | Recipient>): Promise<AgeHeader> {
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
      return [{ args: ['scrypt', b64(salt), String(logN)], body: sealFileKey(key, fileKey) }];
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
      return openFileKey(await scryptKey(passphrase, salt, Number(logArg)), s.body);
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
