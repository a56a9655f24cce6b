import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, stopProcessTree, waitForPort } from './sshd.js';

const run = promisify(execFile);

export interface RcloneSftpHandle {
  host: '127.0.0.1';
  port: number;
  /** Any name logs in; rclone checks only the key. */
  user: 'ferry';
  /** Client private key text (ed25519) that the server accepts. */
  privateKey: string;
  /** The server's host key as an OpenSSH public key line. */
  hostPublicKey: string;
  /** The directory the server serves (its `/`), as this machine sees it. */
  dataDir: string;
  /** rclone's log. */
  logFile: string;
  dispose(): Promise<void>;
}

/**
 * Starts `rclone serve sftp` on a free loopback port, serving a temp
 * directory with rclone's defaults (no VFS cache: files are written
 * strictly in order, and out-of-order writes fail). Unlike OpenSSH it
 * announces no `limits@openssh.com`, so it shows whether a client keeps its
 * requests to a size every server takes and issues them in order.
 */
export async function startRcloneSftp(): Promise<RcloneSftpHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-rclone-sftp-'));
  try {
    await chmod(dir, 0o700);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const hostKey = join(dir, 'host_ed25519');
    const clientKey = join(dir, 'client_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test-host', '-f', hostKey]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test-client', '-f', clientKey]);
    await copyFile(`${clientKey}.pub`, join(dir, 'authorized_keys'));
    const logFile = join(dir, 'rclone.log');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawn('rclone', ['serve', 'sftp', dataDir, '--addr', `127.0.0.1:${port}`, '--key', hostKey,
        '--authorized-keys', join(dir, 'authorized_keys'), '--config', '/dev/null', '--log-file', logFile], { stdio: 'ignore' });
      const spawned = await new Promise<boolean>((resolve) => {
        child.once('spawn', () => resolve(true));
        child.once('error', () => resolve(false));
      });
      if (!spawned) throw new Error('rclone is missing: install the Debian package rclone');
      if (!(await waitForPort(child, port))) {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        if (attempt < 3 && /address already in use/i.test(text)) continue;
        throw new Error(`rclone serve sftp did not start:\n${text}`);
      }
      return {
        host: '127.0.0.1', port, user: 'ferry', dataDir, logFile,
        privateKey: await readFile(clientKey, 'utf8'),
        hostPublicKey: (await readFile(`${hostKey}.pub`, 'utf8')).trim(),
        dispose: async () => {
          await stopProcessTree(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
