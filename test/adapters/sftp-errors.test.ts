import { describe, expect, it } from 'vitest';
import { openSftp } from '../../adapters/sftp/connection.js';
import { fromSftpError } from '../../adapters/sftp/errors.js';
import { isStorageError } from '../../src/storage/errors.js';
import { silentLogger } from '../../src/log.js';

const code = (err: unknown) => fromSftpError('offsite', err, 'reading x').code;
const withProps = (message: string, props: Record<string, unknown>) => Object.assign(new Error(message), props);

describe('sftp errors are classified by their codes, never by their message text', () => {
  it('SFTP status codes decide: no such file, permission denied, connection lost, no space', () => {
    expect(code(withProps('anything', { code: 2 }))).toBe('NOT_FOUND');
    expect(code(withProps('anything', { code: 3 }))).toBe('AUTH');
    expect(code(withProps('anything', { code: 7 }))).toBe('UNAVAILABLE');
    expect(code(withProps('anything', { code: 14 }))).toBe('NO_SPACE');
  });

  it("ssh2's level decides, also when ssh2-sftp-client re-created the error and ssh2's original is its cause", () => {
    expect(code(withProps('All configured authentication methods failed', { level: 'client-authentication' }))).toBe('AUTH');
    const original = withProps('Timed out while waiting for handshake', { level: 'client-timeout' });
    expect(code(withProps('getConnection: Timed out while waiting for handshake', { cause: original }))).toBe('UNAVAILABLE');
  });

  it("the client's own codes and network errors decide, and a retryable UNAVAILABLE is what a dropped connection gives", () => {
    expect(code(withProps('list: No SFTP connection available', { code: 'ERR_NOT_CONNECTED' }))).toBe('UNAVAILABLE');
    expect(code(withProps('x', { code: 'ERR_BAD_AUTH' }))).toBe('AUTH');
    expect(code(withProps('connect', { code: 'ECONNREFUSED' }))).toBe('UNAVAILABLE');
    expect(fromSftpError('offsite', withProps('connect', { code: 'ECONNRESET' }), 'put').retryable).toBe(true);
  });

  it('a request the closed channel never answered (no code) is a retryable UNAVAILABLE once the connection has ended', () => {
    const err = fromSftpError('offsite', new Error('No response from server'), 'writing x', true);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.retryable).toBe(true);
  });

  it('words in a message alone classify nothing: an error with no code is UNKNOWN, and the message is kept naming the operation', () => {
    for (const message of ['permission denied', 'no space left on device', 'connection lost', 'timed out']) {
      const err = fromSftpError('offsite', new Error(message), 'reading x');
      expect(err.code).toBe('UNKNOWN');
      expect(err.message).toBe(`target "offsite" [UNKNOWN]: reading x: ${message}`);
    }
  });

  it('a login key that cannot be parsed is AUTH before anything connects, and the key is not shown', async () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key-SECRETBITS\n-----END OPENSSH PRIVATE KEY-----\n';
    // Port 1 on loopback: nothing listens, so reaching the network would be UNAVAILABLE, not AUTH.
    const err = await openSftp('offsite', { host: '127.0.0.1', port: 1, user: 'u', privateKey: key, hostKey: { kind: 'insecure' } as never, log: silentLogger }).catch((e: unknown) => e);
    expect(err).toSatisfy((e) => isStorageError(e, 'AUTH'));
    expect((err as Error).message).toMatch(/Cannot parse privateKey/);
    expect((err as Error).message).not.toContain('SECRETBITS');
  });
});
