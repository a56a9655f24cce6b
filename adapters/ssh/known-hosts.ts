import { createHmac, timingSafeEqual } from 'node:crypto';
import { parsePublicKey } from './public-key.js';

/** The name OpenSSH looks up in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
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
