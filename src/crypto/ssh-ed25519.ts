import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { b64, BASEPOINT, openFileKey, sealFileKey, x25519 } from './x25519.js';

/**
 * age's `ssh-ed25519` recipient type (age spec, "ssh-ed25519"), so archives
 * can be encrypted to an OpenSSH Ed25519 public key and decrypted with the
 * private key file, interoperable with `age -R key.pub` / `age -d -i key`.
 * age-encryption has no built-in support for it; this plugs into its
 * Recipient and Identity interfaces.
 */
const LABEL = 'age-encryption.org/v1/ssh-ed25519';
const P = 2n ** 255n - 19n;

/** Reads an SSH wire-format string (uint32 length + bytes) at `off`. */
function readString(buf: Buffer, off: number): [Buffer, number] {
  const len = buf.readUInt32BE(off);
  if (off + 4 + len > buf.length) throw new Error('truncated SSH key data');
  return [buf.subarray(off + 4, off + 4 + len), off + 4 + len];
}

function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (b %= P; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
}

/** The Montgomery u-coordinate of an Ed25519 public key: u = (1 + y) / (1 - y) mod p. */
function ed25519ToX25519(pub: Buffer): Buffer {
  const le = Buffer.from(pub);
  le[31]! &= 0x7f;
  const y = BigInt(`0x${Buffer.from(le).reverse().toString('hex')}`);
  const u = ((1n + y) * modPow((1n - y + P) % P, P - 2n)) % P;
  return Buffer.from(u.toString(16).padStart(64, '0'), 'hex').reverse();
}

function tag(sshKey: Buffer): string {
  return b64(createHash('sha256').update(sshKey).digest().subarray(0, 4));
}

function wrappingKey(shared: Buffer, share: Buffer, theirX: Buffer, sshKey: Buffer): Buffer {
  const tweak = Buffer.from(hkdfSync('sha256', Buffer.alloc(0), sshKey, LABEL, 32));
  const tweaked = x25519(tweak, shared);
  return Buffer.from(hkdfSync('sha256', tweaked, Buffer.concat([share, theirX]), LABEL, 32));
}

/** Parses `ssh-ed25519 AAAA... [comment]`; throws for anything else. */
export function parseSshEd25519PublicKey(line: string): Buffer {
  const [type, data] = line.trim().split(/\s+/);
  if (type !== 'ssh-ed25519' || !data) throw new Error('not an ssh-ed25519 public key line');
  const wire = Buffer.from(data, 'base64');
  const [kind, off] = readString(wire, 0);
  const [pub] = readString(wire, off);
  if (kind.toString() !== 'ssh-ed25519' || pub.length !== 32) throw new Error('malformed ssh-ed25519 public key');
  return wire;
}

export function sshEd25519Recipient(line: string): Recipient {
  const sshKey = parseSshEd25519PublicKey(line);
  const theirX = ed25519ToX25519(readString(sshKey, readString(sshKey, 0)[1])[0]);
  return {
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
      const ephemeral = randomBytes(32);
      const share = x25519(ephemeral, BASEPOINT);
      const key = wrappingKey(x25519(ephemeral, theirX), share, theirX, sshKey);
      return [{ args: ['ssh-ed25519', tag(sshKey), b64(share)], body: sealFileKey(key, fileKey) }];
    },
  };
}

/** An identity from an unencrypted OpenSSH Ed25519 private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
export function sshEd25519Identity(pem: string): Identity {
  const body = pem.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const raw = Buffer.from(body, 'base64');
  const magic = 'openssh-key-v1\0';
  if (raw.subarray(0, magic.length).toString('latin1') !== magic) throw new Error('not an OpenSSH private key');
  let off = magic.length;
  const [cipher, o1] = readString(raw, off);
  if (cipher.toString() !== 'none') throw new Error('the SSH private key is encrypted; decrypt a copy with ssh-keygen -p first');
  off = readString(raw, readString(raw, o1)[1])[1] + 4; // kdf name, kdf options, key count
  const [sshKey, o2] = readString(raw, off);
  const [priv] = readString(raw, o2);
  const [kind, p1] = readString(priv, 8); // after two check integers
  if (kind.toString() !== 'ssh-ed25519') throw new Error(`unsupported SSH key type ${kind.toString()}`);
  const [, p2] = readString(priv, p1); // the public key again
  const [secret] = readString(priv, p2); // seed || public key
  const scalar = createHash('sha512').update(secret.subarray(0, 32)).digest().subarray(0, 32);
  const ourX = x25519(scalar, BASEPOINT);
  const expected = tag(sshKey);
  return {
    unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
      for (const s of stanzas) {
        if (s.args[0] !== 'ssh-ed25519' || s.args[1] !== expected || s.args.length !== 3) continue;
        const share = Buffer.from(s.args[2]!, 'base64');
        const key = wrappingKey(x25519(scalar, share), share, ourX, sshKey);
        // The stanza names this key: one that does not open is damaged, not meant for another identity.
        const fileKey = openFileKey(key, s.body);
        if (!fileKey) throw new Error('the ssh-ed25519 stanza for this key does not decrypt');
        return fileKey;
      }
      return null;
    },
  };
}
