import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';

/** The primitives age's X25519-based stanzas share, on `node:crypto`. */

/** Unpadded standard base64, as age writes stanza arguments, bodies and the header MAC. */
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64').replace(/=+$/, '');

const x25519Private = (scalar: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), scalar]), format: 'der', type: 'pkcs8' });
const x25519Public = (point: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), point]), format: 'der', type: 'spki' });

/** X25519(scalar, point); OpenSSL refuses an all-zero result (a low-order point), as age requires. */
export const x25519 = (scalar: Uint8Array, point: Uint8Array): Buffer => diffieHellman({ privateKey: x25519Private(scalar), publicKey: x25519Public(point) });

/** The X25519 base point (u = 9). */
export const BASEPOINT = Buffer.concat([Buffer.from([9]), Buffer.alloc(31)]);

/** A file key sealed with ChaCha20-Poly1305 under `key` and the all-zero nonce: a stanza body. */
export function sealFileKey(key: Uint8Array, fileKey: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  return Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
}

/** The file key a stanza body seals under `key`, or null when it was sealed under another key; throws for a body that cannot be one. */
export function openFileKey(key: Uint8Array, body: Uint8Array): Buffer | null {
  if (body.length !== 32) throw new Error('invalid stanza');
  const d = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  d.setAuthTag(body.subarray(16));
  const fileKey = d.update(body.subarray(0, 16));
  try {
    d.final();
    return fileKey;
  } catch {
    return null;
  }
}
