import { z } from 'zod';
import { secret } from '../../src/config/secret.js';
import { defineAdapter } from '../../src/storage/definition.js';
import { hostKeyOptions, resolveHostKeyPolicy } from '../ssh/host-key.js';
import { canonicalRemotePath, resolveUserPath } from '../../src/util/paths.js';

export const rsyncOptions = {
  /** Server name or address (passed to ssh; names from ~/.ssh/config work). */
  host: z.string().min(1).regex(/^[^\s@/'"-][^\s@/'"]*$/, 'a host name or address, without user@ or a path').describe('Server name or address'),
  /** TCP port of the SSH server. */
  port: z.number().int().min(1).max(65535).default(22).describe('SSH port'),
  /** Login name on the server. */
  user: z.string().min(1).regex(/^[^\s@:'"-][^\s@:'"]*$/, 'a plain user name').describe('SSH user name'),
  /**
   * Directory on the server that holds the archives; created (with parents)
   * when missing. A relative path, or one starting with `~/`, is relative to
   * the user's home directory. The server needs rsync, a POSIX shell and GNU
   * find (any Linux).
   */
  path: z.string().min(1).describe('Remote directory for the archives; relative paths are under the home directory'),
  /**
   * Login key for ssh, without a passphrase (ssh runs in batch mode). Give
   * the file with `private_key_file`. Without a key, ssh's own configuration
   * and agent are used.
   */
  ...secret('private_key', 'OpenSSH private key used to log in (no passphrase)'),
  /** Bandwidth limit in KiB/s, or with a unit: `500`, `1.5M`. Passed to rsync `--bwlimit`. */
  bwlimit: z
    .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?[KMGkmg]?$/, 'a number of KiB/s, optionally with K, M or G')])
    .optional()
    .describe('Upload bandwidth limit, KiB/s or with a K/M/G suffix'),
  ...hostKeyOptions,
};

export default defineAdapter({
  type: 'rsync',
  options: rsyncOptions,
  // The same directory whether reached by sftp or rsync, so the two types compare equal.
  location: (options) => `ssh ${options.host.toLowerCase()}:${options.port} ${canonicalRemotePath(options.user, options.path)}`,
  async create(name, options, context) {
    const hostKey = await resolveHostKeyPolicy(name, options, { host: options.host, port: options.port, configDir: context.configDir, log: context.log });
    const { RsyncAdapter } = await import('./adapter.js');
    return new RsyncAdapter(name, {
      host: options.host,
      port: options.port,
      user: options.user,
      root: options.path,
      // The config loader turns `private_key_file` into `private_key`; a file path that reaches here unread is used directly.
      privateKeyFile: options.private_key_file !== undefined ? resolveUserPath(context.configDir, options.private_key_file) : undefined,
      privateKey: options.private_key,
      bwlimit: options.bwlimit,
      hostKey,
      log: context.log,
    });
  },
});
