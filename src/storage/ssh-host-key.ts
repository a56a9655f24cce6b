import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { resolveUserPath } from '../util/paths.js';
import { StorageError } from './errors.js';

/**
 * Host key options shared by every SSH-based target (sftp, rsync). Exactly
 * one of them must be set: there is no trust-on-first-use.
 */
export const hostKeyOptions = {
  /**
   * The server's public host key as an OpenSSH line (`ssh-ed25519 AAAA...`,
   * the text of `/etc/ssh/ssh_host_ed25519_key.pub`) or its fingerprint
   * (`SHA256:...`, as printed by `ssh-keygen -lf` and by Ferry's refusal).
   */
  host_key: z.string().min(1).optional().describe('Server host key: an OpenSSH public key line or a SHA256: fingerprint'),
  /**
   * An OpenSSH known_hosts file (relative to the config file). Entries may be
   * plain, `[host]:port`, wildcard or hashed (`|1|...`); `@revoked` keys are
   * refused, `@cert-authority` lines are ignored.
   */
  known_hosts: z.string().min(1).optional().describe('OpenSSH known_hosts file that lists the server key'),
  /** Accept whatever key the server presents. Anyone in the middle can then read the archives; Ferry warns. */
  insecure_accept_any_host_key: z.boolean().optional().describe('Skip host key verification (insecure; prints a warning)'),
};

export interface HostKeyConfig {
  host_key?: string;
  known_hosts?: string;
  insecure_accept_any_host_key?: boolean;
}

/** What a connection accepts. `pinned` with no keys refuses every server (an unknown host). */
export type HostKeyPolicy =
  | { kind: 'insecure' }
  | {
      kind: 'pinned';
      /** Raw key blobs (the base64 part of a public key line, decoded). */
      keys: Buffer[];
      /** `SHA256:` fingerprints without base64 padding. */
      fingerprints: string[];
      /** `@revoked` blobs; refused even when also listed as accepted. */
      revoked: Buffer[];
      /** Where the pins come from, for error messages: `host_key` or `known_hosts <file>`. */
      source: string;
    };

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

/** Parses `type base64 [comment]` into its blob, or returns undefined when the line is not a public key. */
export function parsePublicKey(line: string): Buffer | undefined {
  const [type, data] = line.trim().split(/\s+/);
  if (!type || !data || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return undefined;
  const blob = Buffer.from(data, 'base64');
  return keyType(blob) === type ? blob : undefined;
}

/** The name OpenSSH looks up in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/**
 * Turns the options into a policy. Reads the known_hosts file (relative paths
 * resolve against `configDir`). Rejects with a CONFIG StorageError when none
 * or more than one option is set, or when a value cannot be parsed. Warns
 * through `log` when verification is switched off.
 */
export async function resolveHostKeyPolicy(
  target: string,
  config: HostKeyConfig,
  where: { host: string; port: number; configDir: string; log: Logger },
): Promise<HostKeyPolicy> {
  const set = [
    config.host_key !== undefined && 'host_key',
    config.known_hosts !== undefined && 'known_hosts',
    config.insecure_accept_any_host_key === true && 'insecure_accept_any_host_key',
  ].filter((s): s is string => typeof s === 'string');
  if (set.length === 0) {
    throw new StorageError(
      'CONFIG',
      target,
      'host key verification is required: set host_key (the server\'s public key line or its SHA256: fingerprint), ' +
        'known_hosts (a known_hosts file), or insecure_accept_any_host_key: true',
    );
  }
  if (set.length > 1) throw new StorageError('CONFIG', target, `set only one of ${set.join(', ')}`);

  if (config.insecure_accept_any_host_key) {
    where.log.warn(
      `target "${target}": insecure_accept_any_host_key is set; the identity of ${where.host} is not checked, ` +
        'so a machine in the middle could read or alter the archives',
    );
    return { kind: 'insecure' };
  }
  if (config.host_key !== undefined) return parseHostKeyOption(target, config.host_key);

  const file = resolveUserPath(where.configDir, config.known_hosts!);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new StorageError('CONFIG', target, `cannot read known_hosts file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return { kind: 'pinned', ...parseKnownHosts(text, where.host, where.port), fingerprints: [], source: `known_hosts ${file}` };
}

/** Parses the `host_key` option: a public key line or a `SHA256:` fingerprint. */
export function parseHostKeyOption(target: string, value: string): HostKeyPolicy {
  const v = value.trim();
  const fp = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(v);
  if (fp) return { kind: 'pinned', keys: [], fingerprints: [`SHA256:${fp[1]}`], revoked: [], source: 'host_key' };
  const blob = parsePublicKey(v);
  if (blob) return { kind: 'pinned', keys: [blob], fingerprints: [], revoked: [], source: 'host_key' };
  throw new StorageError(
    'CONFIG',
    target,
    'host_key must be an OpenSSH public key line ("ssh-ed25519 AAAA...") or a SHA256 fingerprint ("SHA256:..." from ssh-keygen -lf)',
  );
}

/** The keys (and revoked keys) that known_hosts `text` lists for `host` on `port`. */
export function parseKnownHosts(text: string, host: string, port: number): { keys: Buffer[]; revoked: Buffer[] } {
  const name = knownHostsName(host, port);
  const keys: Buffer[] = [];
  const revoked: Buffer[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    if (marker === '@cert-authority' || fields.length < 3) continue;
    if (!hostPatternsMatch(fields[0]!, name)) continue;
    const blob = parsePublicKey(`${fields[1]} ${fields[2]}`);
    if (!blob) continue;
    (marker === '@revoked' ? revoked : keys).push(blob);
  }
  return { keys, revoked };
}

/** OpenSSH host pattern list semantics: any positive match, and no negated (`!`) match. Hashed `|1|salt|hash` entries are HMAC-SHA1. */
function hostPatternsMatch(list: string, name: string): boolean {
  let matched = false;
  for (const pattern of list.split(',')) {
    if (pattern.startsWith('|1|')) {
      if (hashedMatch(pattern, name)) matched = true;
      continue;
    }
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    if (!wildcardMatch(p.toLowerCase(), name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatch(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (!salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

function wildcardMatch(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

/** True when the policy accepts the server key `blob`. */
export function hostKeyAccepted(policy: HostKeyPolicy, blob: Buffer): boolean {
  if (policy.kind === 'insecure') return true;
  if (policy.revoked.some((k) => k.equals(blob))) return false;
  return policy.keys.some((k) => k.equals(blob)) || policy.fingerprints.includes(fingerprint(blob));
}

/**
 * The HOST_KEY error for a refused server key. The message names the key's
 * type and `SHA256:` fingerprint and how to pin it, never a secret.
 */
export function hostKeyError(
  target: string,
  where: { host: string; port: number },
  policy: HostKeyPolicy,
  offered: Buffer[],
  cause?: unknown,
): StorageError {
  const pinned = policy.kind === 'pinned' && policy.keys.length + policy.fingerprints.length > 0;
  const shown = offered.map((b) => `${keyType(b)} ${fingerprint(b)}`).join(', ');
  const source = policy.kind === 'pinned' ? policy.source : 'the configuration';
  const what = !offered.length
    ? `the host key of ${where.host}:${where.port} was refused and could not be read`
    : pinned
      ? `the host key of ${where.host}:${where.port} (${shown}) does not match ${source}; the server may have been replaced, or someone may be in the middle`
      : `the host key of ${where.host}:${where.port} (${shown}) is unknown: ${source} has no entry for ${knownHostsName(where.host, where.port)}`;
  const hint = offered[0] ? `. If this is the right server, pin it with host_key: "${fingerprint(offered[0])}"` : '';
  return new StorageError('HOST_KEY', target, `${what}${hint}`, { cause });
}
