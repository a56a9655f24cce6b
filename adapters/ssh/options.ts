import { z } from 'zod';
import { secret } from '../../src/config/secret.js';
import { canonicalRemotePath } from '../../src/util/paths.js';
import { hostKeyOptions } from './host-key.js';

/**
 * The options every SSH-based target (sftp, rsync) shares: where the server
 * is, who logs in, which directory holds the archives, the login key and the
 * host key pin. One rule for each, so a target can switch between sftp and
 * rsync by changing its `type:` alone.
 */
export const sshTargetOptions = {
  /**
   * Server name or address. No `user@`, path, whitespace or quotes, and no
   * leading `-`, so it can never be read as an ssh option.
   */
  host: z.string().min(1).regex(/^[^\s@/'"-][^\s@/'"]*$/, 'a host name or address, without user@ or a path').describe('SSH server name or address'),
  /** TCP port of the SSH server. */
  port: z.number().int().min(1).max(65535).default(22).describe('SSH port'),
  /** Login name on the server. */
  user: z.string().min(1).regex(/^[^\s@:'"-][^\s@:'"]*$/, 'a plain user name').describe('SSH user name'),
  /**
   * Directory on the server that holds the archives; created (with parents)
   * when missing. A relative path, or one starting with `~/`, is relative to
   * the user's home directory.
   */
  path: z.string().min(1).describe('Remote directory for the archives; relative paths are under the home directory'),
  ...secret('private_key', 'OpenSSH private key used to log in'),
  ...hostKeyOptions,
};

/** The same directory whether reached by sftp or rsync, so targets of the two types compare equal. */
export function sshLocation(options: { host: string; port: number; user: string; path: string }): string {
  return `ssh ${options.host.toLowerCase()}:${options.port} ${canonicalRemotePath(options.user, options.path)}`;
}
