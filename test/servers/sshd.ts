import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprint, parsePublicKey } from '../../src/storage/ssh-host-key.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

export interface SshdHandle {
  host: '127.0.0.1';
  port: number;
  user: 'root';
  /** Client private key (ed25519, no passphrase) that the server accepts. */
  privateKeyFile: string;
  /** The same key's text, for options that take the key itself. */
  privateKey: string;
  /** The server's host key as an OpenSSH public key line. */
  hostPublicKey: string;
  /** `SHA256:...` fingerprint of the host key. */
  hostFingerprint: string;
  /** A known_hosts file with the `[127.0.0.1]:port` entry. */
  knownHostsFile: string;
  /** An empty directory on the "server" for the archives (same machine, it is loopback). */
  dataDir: string;
  /** Scratch directory of this server; tests may put files here. Removed by `dispose()`. */
  dir: string;
  /** With `sftpOnlyChroot`: the account's chroot on this machine (the client sees it as `/`); it holds a writable `upload/`. */
  chrootDir?: string;
  pid: number;
  /** Stops the listener and every session it forked, so open connections drop too. Safe to call twice. */
  stop(): Promise<void>;
  /** `stop()`, then removes the server's temp directory. */
  dispose(): Promise<void>;
}

export interface SshdOptions {
  /**
   * Sessions get a PATH holding only basic tools (sh, coreutils, find), so
   * `rsync` is "not installed" on this server.
   */
  withoutRsync?: boolean;
  /**
   * The login account is the common hardened setup: a `Match User` block
   * with `ForceCommand internal-sftp` and a `ChrootDirectory` (`chrootDir`).
   * It has no shell: a command gets sshd's "This service allows sftp
   * connections only." and exit status 1.
   */
  sftpOnlyChroot?: boolean;
}

/**
 * Starts a real OpenSSH sshd (Debian openssh-server) in the foreground (`-D`)
 * as a child process, on a free loopback port, with its own config, host key,
 * authorized_keys and log in a temp dir. Needs root (it logs in as root) and
 * creates `/run/sshd`, the privilege separation directory sshd insists on.
 */
export async function startSshd(options: SshdOptions = {}): Promise<SshdHandle> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server`);
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshd-'));
  let chrootDir: string | undefined;
  try {
    await chmod(dir, 0o700);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
    const privateKeyFile = join(dir, 'client_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test-host', '-f', hostKeyFile]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test-client', '-f', privateKeyFile]);
    const hostPublicKey = (await readFile(`${hostKeyFile}.pub`, 'utf8')).trim();
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${privateKeyFile}.pub`), { mode: 0o600 });

    // SHLVL=1 keeps bash from sourcing the machine's ~/.bashrc for every remote command (Debian's
    // bash does so for ssh sessions at level 1), so tests do not depend on root's dotfiles.
    const env = ['SHLVL=1'];
    if (options.withoutRsync) env.push(`PATH=${await toolsOnlyPath(dir)}`);
    const extra = [`SetEnv ${env.join(' ')}`];
    // sshd wants every component of a chroot root-owned and not group- or world-writable, which /tmp is not.
    chrootDir = options.sftpOnlyChroot ? await mkdtemp('/run/ferry-sshd-chroot-') : undefined;
    if (chrootDir) {
      await chmod(chrootDir, 0o755);
      await mkdir(join(chrootDir, 'upload'));
      extra.push('Match User root', '  ForceCommand internal-sftp', `  ChrootDirectory ${chrootDir}`);
    }

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const cfg = join(dir, 'sshd_config');
      await writeFile(cfg, sshdConfig(dir, port, hostKeyFile, extra));
      const log = join(dir, 'sshd.log');
      const child = spawn(SSHD, ['-D', '-f', cfg, '-E', log], { stdio: 'ignore' });
      const up = await waitForPort(child, port);
      if (!up) {
        const text = await readFile(log, 'utf8').catch(() => '');
        if (attempt < 3 && /Address already in use/.test(text)) continue;
        throw new Error(`sshd did not start:\n${text}`);
      }
      const knownHostsFile = join(dir, 'known_hosts');
      await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
      const pid = child.pid!;
      let stopped: Promise<void> | undefined;
      const stop = () => (stopped ??= stopProcessTree(child));
      const chroot = chrootDir;
      return {
        host: '127.0.0.1', port, user: 'root', privateKeyFile,
        privateKey: await readFile(privateKeyFile, 'utf8'),
        hostPublicKey, hostFingerprint: fingerprint(parsePublicKey(hostPublicKey)!),
        knownHostsFile, dataDir, dir, chrootDir: chroot, pid, stop,
        dispose: async () => {
          await stop();
          await rm(dir, { recursive: true, force: true });
          if (chroot) await rm(chroot, { recursive: true, force: true });
        },
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if (chrootDir) await rm(chrootDir, { recursive: true, force: true });
    throw err;
  }
}

function sshdConfig(dir: string, port: number, hostKeyFile: string, extra: string[]): string {
  return [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${hostKeyFile}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'StrictModes no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UseDNS no',
    'PrintMotd no',
    'MaxStartups 64',
    'MaxSessions 64',
    'LogLevel VERBOSE',
    'Subsystem sftp internal-sftp',
    ...extra,
    '',
  ].join('\n');
}

/** A bin directory with the tools the rsync adapter runs remotely, except rsync itself. */
async function toolsOnlyPath(dir: string): Promise<string> {
  const bin = join(dir, 'bin-without-rsync');
  await mkdir(bin);
  for (const tool of ['sh', 'bash', 'mkdir', 'find', 'cat', 'rm', 'df', 'test', 'printf', 'chmod']) {
    for (const d of ['/usr/bin', '/bin']) {
      if (existsSync(join(d, tool))) {
        await symlink(join(d, tool), join(bin, tool));
        break;
      }
    }
  }
  return bin;
}

/** A port the kernel reports free right now (sshd may still lose a race for it; the caller retries). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true once `port` accepts connections, false when the process exits or 10 s pass. */
async function waitForPort(child: ChildProcess, port: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return false;
}

/** Kills the sshd listener and all its descendants (the per-connection sessions) by PID. */
async function stopProcessTree(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const tree = await descendants(pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const p of [pid, ...tree]) {
    try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ }
  }
  await exited;
}

async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isFinite(ppid)) continue;
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of parents.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** A well-formed ed25519 public key line that belongs to no server (for "wrong host key" tests). */
export function otherEd25519Key(): string {
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const blob = Buffer.concat([u32(11), Buffer.from('ssh-ed25519'), u32(32), randomBytes(32)]);
  return `ssh-ed25519 ${blob.toString('base64')} someone-else`;
}
