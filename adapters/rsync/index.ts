import { z } from 'zod';
import { resumeTimeout } from '../../src/config/resume-timeout.js';
import { secret } from '../../src/config/secret.js';
import { defineAdapter, type AdapterContext } from '../../src/storage/definition.js';
import { resolveHostKeyPolicy } from '../ssh/host-key.js';
import { sshLocation, sshTargetOptions } from '../ssh/options.js';

export const rsyncOptions = {
  // The server needs rsync, a POSIX shell and GNU find (any Linux) besides sshd.
  ...sshTargetOptions,
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
  /**
   * Seconds an interrupted upload keeps reconnecting and resuming while the
   * server receives nothing new (backoff from 0.25 s up to 5 s between
   * attempts), as for sftp. `0` gives up at the first lost connection.
   */
  resume_timeout: resumeTimeout('Seconds an interrupted upload keeps trying to reconnect and resume without progress (default 120)'),
};

export default defineAdapter({
  type: 'rsync',
  options: rsyncOptions,
  location: sshLocation,
  async create(name, options, context) {
    return createRsync(name, options, context);
  },
  async createTree(name, options, context) {
    const [rsync, { RsyncTree }] = await Promise.all([createRsync(name, options, context), import('./tree.js')]);
    return new RsyncTree(name, rsync);
  },
});

async function createRsync(name: string, options: z.infer<z.ZodObject<typeof rsyncOptions>>, context: AdapterContext) {
  const hostKey = await resolveHostKeyPolicy(name, options, { host: options.host, port: options.port, configDir: context.configDir, log: context.log });
  const { RsyncAdapter } = await import('./adapter.js');
  return new RsyncAdapter(name, {
    host: options.host,
    port: options.port,
    user: options.user,
    root: options.path,
    // The config loader has read `private_key_file` into `private_key`.
    privateKey: options.private_key,
    bwlimit: options.bwlimit,
    resumeTimeoutMs: options.resume_timeout * 1000,
    hostKey,
    log: context.log,
  });
}
