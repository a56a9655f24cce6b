import { z } from 'zod';
import { secret } from '../../src/config/secret.js';
import { defineAdapter } from '../../src/storage/definition.js';
import { hostKeyOptions, resolveHostKeyPolicy } from '../../src/storage/ssh-host-key.js';
import { canonicalRemotePath } from '../../src/util/paths.js';

export const sftpOptions = {
  /** Server name or address. */
  host: z.string().min(1).regex(/^[^\s@/]+$/, 'a host name or address, without user@ or a path').describe('SFTP server name or address'),
  /** TCP port of the SSH server. */
  port: z.number().int().min(1).max(65535).default(22).describe('SSH port'),
  /** Login name on the server. */
  user: z.string().min(1).describe('SSH user name'),
  /**
   * Directory on the server that holds the archives; created (with parents)
   * when missing. A relative path, or one starting with `~/`, is relative to
   * the user's home directory.
   */
  path: z.string().min(1).describe('Remote directory for the archives; relative paths are under the home directory'),
  ...secret('private_key', 'OpenSSH private key (PEM text) used to log in'),
  ...secret('passphrase', 'Passphrase of an encrypted private_key'),
  ...secret('password', 'Password, when the server allows password logins'),
  ...hostKeyOptions,
};

export default defineAdapter({
  type: 'sftp',
  options: sftpOptions,
  // The same directory whether reached by sftp or rsync, so the two types compare equal.
  location: (options) => `ssh ${options.host.toLowerCase()}:${options.port} ${canonicalRemotePath(options.user, options.path)}`,
  async create(name, options, context) {
    const hostKey = await resolveHostKeyPolicy(name, options, { host: options.host, port: options.port, configDir: context.configDir, log: context.log });
    const { SftpAdapter } = await import('./adapter.js');
    return new SftpAdapter(name, {
      host: options.host,
      port: options.port,
      user: options.user,
      root: options.path,
      // The config loader has read `private_key_file` into `private_key`.
      privateKey: options.private_key,
      passphrase: options.passphrase,
      password: options.password,
      hostKey,
      log: context.log,
    });
  },
});
