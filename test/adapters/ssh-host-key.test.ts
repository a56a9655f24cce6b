import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { isStorageError } from '../../src/storage/errors.js';
import { fingerprint, hostKeyAccepted, hostKeyAlgorithms, hostKeyError, parseHostKeyOption, parsePublicKey, resolveHostKeyPolicy } from '../../adapters/ssh/host-key.js';
import { parseKnownHosts } from '../../adapters/ssh/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-hostkey-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh key from ssh-keygen (ed25519 unless told): its public line and the fingerprint ssh-keygen itself prints. */
function newKey(name: string, type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): { line: string; blob: Buffer; sshKeygenFingerprint: string } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', name, '-f', file]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim();
  const sshKeygenFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { line, blob: parsePublicKey(line)!, sshKeygenFingerprint };
}

const server = newKey('server');
const other = newKey('other');
const where = { host: 'nas.lan', port: 2222, configDir: dir, log: silentLogger };

describe('SSH host key verification', () => {
  it('computes the same SHA256 fingerprint as ssh-keygen', () => {
    expect(fingerprint(server.blob)).toBe(server.sshKeygenFingerprint);
  });

  it('asks the server only for the host key types that are pinned, so it shows the pinned key', async () => {
    const ecdsa = newKey('ecdsa', 'ecdsa');
    const rsa = newKey('rsa', 'rsa');
    expect(fingerprint(rsa.blob)).toBe(rsa.sshKeygenFingerprint);
    expect(hostKeyAlgorithms(parseHostKeyOption('t', ecdsa.line))).toEqual(['ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms(parseHostKeyOption('t', rsa.line))).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    const file = join(dir, 'known_hosts_two');
    writeFileSync(file, `[nas.lan]:2222 ${rsa.line}\n[nas.lan]:2222 ${server.line}\n`);
    expect(hostKeyAlgorithms(await resolveHostKeyPolicy('t', { known_hosts: file }, where))).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    // A fingerprint does not say its type, and an insecure policy takes any: the client's defaults, then.
    expect(hostKeyAlgorithms(parseHostKeyOption('t', ecdsa.sshKeygenFingerprint))).toBeUndefined();
    expect(hostKeyAlgorithms({ kind: 'insecure' })).toBeUndefined();
  });

  it('a pinned public key line or fingerprint accepts that key and refuses any other', () => {
    for (const pin of [server.line, server.sshKeygenFingerprint, `${server.sshKeygenFingerprint}=`]) {
      const policy = parseHostKeyOption('t', pin);
      expect(hostKeyAccepted(policy, server.blob)).toBe(true);
      expect(hostKeyAccepted(policy, other.blob)).toBe(false);
    }
  });

  it('a host_key that is neither a key line nor a SHA256 fingerprint is a config error', () => {
    for (const bad of ['MD5:12:34', 'ssh-ed25519 not-base64!', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==', 'hello']) {
      expect(() => parseHostKeyOption('t', bad)).toThrow(/host_key must be an OpenSSH public key line/);
    }
  });

  it('known_hosts matches [host]:port entries, patterns and negations, for the configured port only', () => {
    const [type, b64] = server.line.split(' ');
    const text = [
      '# comment',
      `[nas.lan]:2222 ${type} ${b64}`,
      `nas.lan ${other.line}`,
      `[*.lan]:2222,![bad.lan]:2222 ${other.line}`,
      `@cert-authority *.lan ${other.line}`,
      '',
    ].join('\n');
    const at2222 = parseKnownHosts(text, 'NAS.lan', 2222);
    expect(at2222.keys.map(fingerprint)).toEqual([server.sshKeygenFingerprint, other.sshKeygenFingerprint]);
    expect(parseKnownHosts(text, 'nas.lan', 22).keys.map(fingerprint)).toEqual([other.sshKeygenFingerprint]);
    expect(parseKnownHosts(text, 'bad.lan', 2222).keys).toEqual([]);
  });

  it('known_hosts hashed by ssh-keygen -H still matches, and @revoked keys are refused', async () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `[nas.lan]:2222 ${server.line}\nnas.lan ${other.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
    const policy = await resolveHostKeyPolicy('t', { known_hosts: 'known_hosts' }, where);
    expect(hostKeyAccepted(policy, server.blob)).toBe(true);
    expect(hostKeyAccepted(policy, other.blob)).toBe(false);

    writeFileSync(file, `[nas.lan]:2222 ${server.line}\n@revoked * ${server.line}\n`);
    expect(hostKeyAccepted(await resolveHostKeyPolicy('t', { known_hosts: file }, where), server.blob)).toBe(false);
  });

  it('a config without host key settings, or with two of them, is an error that says what to set', async () => {
    await expect(resolveHostKeyPolicy('t', {}, where)).rejects.toThrow(/host key verification is required: set host_key .*known_hosts .*insecure_accept_any_host_key: true/);
    await expect(resolveHostKeyPolicy('t', { insecure_accept_any_host_key: false }, where)).rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
    await expect(resolveHostKeyPolicy('t', { host_key: server.line, insecure_accept_any_host_key: true }, where)).rejects.toThrow(/only one of/);
    await expect(resolveHostKeyPolicy('t', { known_hosts: 'missing-file' }, where)).rejects.toThrow(/cannot read known_hosts file .*missing-file: ENOENT/);
  });

  it('insecure_accept_any_host_key accepts any key and logs a warning', async () => {
    const warnings: string[] = [];
    const policy = await resolveHostKeyPolicy('offsite', { insecure_accept_any_host_key: true }, { ...where, log: { ...silentLogger, warn: (m) => { warnings.push(m); } } });
    expect(hostKeyAccepted(policy, other.blob)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/target "offsite": insecure_accept_any_host_key is set/);
  });

  it('the refusal names the offered key fingerprint and how to pin it', () => {
    const mismatch = hostKeyError('offsite', where, parseHostKeyOption('offsite', other.line), [server.blob]);
    expect(mismatch.code).toBe('HOST_KEY');
    expect(mismatch.retryable).toBe(false);
    expect(mismatch.message).toContain(`ssh-ed25519 ${server.sshKeygenFingerprint}) does not match host_key`);
    expect(mismatch.message).toContain(`pin it with host_key: "${server.sshKeygenFingerprint}"`);
    const unknown = hostKeyError('offsite', where, { kind: 'pinned', keys: [], fingerprints: [], revoked: [], source: 'known_hosts /k' }, [server.blob]);
    expect(unknown.message).toContain('is unknown: known_hosts /k has no entry for [nas.lan]:2222');
  });
});
