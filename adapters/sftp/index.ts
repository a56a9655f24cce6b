import { z } from 'zod';
import { resumeTimeout } from '../../src/config/resume-timeout.js';
import { secret } from '../../src/config/secret.js';
import { defineAdapter, type AdapterContext } from '../../src/storage/definition.js';
import { resolveHostKeyPolicy } from '../ssh/host-key.js';
import { sshLocation, sshTargetOptions } from '../ssh/options.js';

const MIB = 1024 * 1024;

export const sftpOptions = {
  ...sshTargetOptions,
  ...secret('passphrase', 'Passphrase of an encrypted private_key'),
  /** Password login; sent as a password or answered to keyboard-interactive prompts, whichever the server offers. */
  ...secret('password', 'Password, when the server allows password or keyboard-interactive logins'),
  /**
   * Bytes of the upload kept in memory so that an upload cut off by a
   * dropped connection resumes where the server's partial file ends instead
   * of failing. Costs up to this much memory per upload in progress (one per
   * sftp target during a run). Default 32 MiB; at least 1 MiB.
   */
  replay_buffer: z
    .number()
    .int()
    .min(MIB)
    .max(1024 * MIB)
    .default(32 * MIB)
    .describe('Bytes of an upload held in memory to resume it after a dropped connection (default 32 MiB; costs that much memory per upload in progress)'),
  /**
   * Seconds an interrupted upload keeps reconnecting (with backoff) without
   * making progress before the target fails with UNAVAILABLE. Default 120;
   * 0 fails at the first dropped connection. At most 6 hours, well within
   * the 24 hours after which a later run sweeps an abandoned partial file.
   */
  resume_timeout: resumeTimeout('Seconds an interrupted upload keeps trying to reconnect and resume before the target fails (default 120)'),
};

export default defineAdapter({
  type: 'sftp',
  options: sftpOptions,
  location: sshLocation,
  async create(name, options, context) {
    return createSftp(name, options, context);
  },
  async createTree(name, options, context) {
    const [sftp, { SftpTree }] = await Promise.all([createSftp(name, options, context), import('./tree.js')]);
    return new SftpTree(name, sftp);
  },
});

async function createSftp(name: string, options: z.infer<z.ZodObject<typeof sftpOptions>>, context: AdapterContext) {
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
    replayBuffer: options.replay_buffer,
    resumeTimeoutMs: options.resume_timeout * 1000,
    log: context.log,
  });
}
