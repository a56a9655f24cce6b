import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from '../../src/log.js';
import { StorageError } from '../../src/storage/errors.js';
import { resolveUserPath } from '../../src/util/paths.js';
import { knownHostsName, parseKnownHosts } from './known-hosts.js';
import { fingerprint, keyType, parsePublicKey, signatureAlgorithms } from './public-key.js';

export { fingerprint, keyType, parsePublicKey };

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

/**
 * The host key algorithms a client should offer so that the server presents
 * a key the policy can accept: the algorithms of the pinned keys' types
 * (`ssh-rsa` keys sign as rsa-sha2-512, rsa-sha2-256 or ssh-rsa). Undefined
 * means "offer the client's defaults": the policy is insecure or has a
 * `SHA256:` fingerprint pin, whose key type is not known until it is seen.
 */
export function hostKeyAlgorithms(policy: HostKeyPolicy): string[] | undefined {
  if (policy.kind === 'insecure' || policy.fingerprints.length > 0) return undefined;
  const types = new Set(policy.keys.filter((k) => hostKeyAccepted(policy, k)).map(keyType));
  return [...types].flatMap(signatureAlgorithms);
}
