import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/** ssh2 is required on first use: a run without SSH targets does not load it. */
const ssh2 = () => createRequire(import.meta.url)('ssh2') as typeof import('ssh2');

/** The OpenSSH SHA256 fingerprint of a raw key blob: `SHA256:` + unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type stored inside a raw key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return len > 0 && len < 64 && blob.length >= 4 + len ? blob.subarray(4, 4 + len).toString('latin1') : 'unknown';
}

/**
 * Parses an OpenSSH public key line (`type base64 [comment]`) with ssh2's own
 * key parser into its raw blob; undefined when the line is not a public key
 * ssh2 understands (a private key is not a public key line either).
 */
export function parsePublicKey(line: string): Buffer | undefined {
  const parsed = ssh2().utils.parseKey(line.trim());
  if (parsed instanceof Error || parsed.isPrivateKey()) return undefined;
  return parsed.getPublicSSH();
}

/** The SSH signature algorithms a host key of `type` can sign with, strongest first. */
export function signatureAlgorithms(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}
