import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprint, parsePublicKey } from '../../adapters/ssh/host-key.js';

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
  /** The server's ed25519 host key as an OpenSSH public key line. */
  hostPublicKey: string;
  /** `SHA256:...` fingerprint of the ed25519 host key. */
  hostFingerprint: string;
  /** Every host key the server offers, as a stock OpenSSH server does: ed25519, ECDSA (nistp256) and RSA public key lines. */
  hostKeys: Record<HostKeyType, string>;
  /** A known_hosts file with the `[127.0.0.1]:port` entry of the ed25519 key. */
  knownHostsFile: string;
  /** Present with `sftpOnlyAccount`: see SftpOnlyAccount. */
  sftpOnly?: SftpOnlyAccount;
  /** Present with `passwordOnly`: a throwaway account whose password the server checks through PAM. */
  password?: { user: string; password: string };
  /** sshd's log (LogLevel VERBOSE: "Accepted publickey for ...", "Accepted keyboard-interactive/pam for ..."). */
  logFile: string;
  /** An empty directory on the "server" for the archives (same machine, it is loopback). */
  dataDir: string;
  /** Scratch directory of this server; tests may put files here. Removed by `dispose()`. */
  dir: string;
  pid: number;
  /** Stops the listener and every session it forked, so open connections drop too. Safe to call twice. */
  stop(): Promise<void>;
  /** `stop()`, then the same server (config, keys, accounts) starts again on the same port. */
  restart(): Promise<void>;
  /** `stop()`, then removes the server's temp directory. */
  dispose(): Promise<void>;
}

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

/**
 * The common hardened setup: an account that may only use SFTP
 * (`ForceCommand internal-sftp`), locked into a directory
 * (`ChrootDirectory`). It logs in with the same client key as root.
 */
export interface SftpOnlyAccount {
  user: string;
  /** The chroot on this machine: root-owned, mode 0755, outside any world-writable directory (sshd insists). */
  chroot: string;
  /** A directory the account may write, as this machine sees it (`<chroot>/data`). */
  dataDir: string;
  /** The same directory as the account sees it: `/data`. */
  remotePath: '/data';
}

export interface SshdOptions {
  /**
   * Sessions get a PATH holding only basic tools (sh, coreutils, find), so
   * `rsync` is "not installed" on this server.
   */
  withoutRsync?: boolean;
  /** Adds a throwaway sftp-only chroot account (a `Match User` block); see SftpOnlyAccount. */
  sftpOnlyAccount?: boolean;
  /**
   * Password logins only as keyboard-interactive, the TrueNAS/FreeBSD
   * default (`PasswordAuthentication no`, `KbdInteractiveAuthentication yes`,
   * through PAM), for a throwaway account with a random password.
   */
  passwordOnly?: boolean;
  /** SFTP requests the server refuses (`internal-sftp -P`), e.g. `posix-rename@openssh.com`, as older or other servers lack them. */
  sftpRefuses?: string[];
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
  const accounts = new Accounts();
  const account: Pick<SshdHandle, 'sftpOnly' | 'password'> = {};
  let auth = ['UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no'];
  try {
    await chmod(dir, 0o700);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const hostKeyFiles = { ed25519: join(dir, 'ssh_host_ed25519_key'), ecdsa: join(dir, 'ssh_host_ecdsa_key'), rsa: join(dir, 'ssh_host_rsa_key') };
    const privateKeyFile = join(dir, 'client_ed25519');
    await Promise.all([
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test-host', '-f', hostKeyFiles.ed25519]),
      run('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-C', 'ferry-test-host', '-f', hostKeyFiles.ecdsa]),
      run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'ferry-test-host', '-f', hostKeyFiles.rsa]),
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test-client', '-f', privateKeyFile]),
    ]);
    const hostKeys = {} as Record<HostKeyType, string>;
    for (const [type, file] of Object.entries(hostKeyFiles)) hostKeys[type as HostKeyType] = (await readFile(`${file}.pub`, 'utf8')).trim();
    const hostPublicKey = hostKeys.ed25519;
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${privateKeyFile}.pub`), { mode: 0o600 });

    // SHLVL=1 keeps bash from sourcing the machine's ~/.bashrc for every remote command (Debian's
    // bash does so for ssh sessions at level 1), so tests do not depend on root's dotfiles.
    const env = ['SHLVL=1'];
    if (options.withoutRsync) env.push(`PATH=${await toolsOnlyPath(dir)}`);
    const extra = [`SetEnv ${env.join(' ')}`];
    if (options.passwordOnly) {
      const password = randomBytes(12).toString('base64url');
      const user = await accounts.create(password);
      account.password = { user, password };
      auth = ['UsePAM yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication yes'];
    }
    if (options.sftpOnlyAccount) {
      account.sftpOnly = await sftpOnlyAccount(accounts);
      // sshd reads authorized keys as the user, who cannot enter the server's 0700 directory.
      const keys = join(account.sftpOnly.chroot, 'authorized_keys');
      await writeFile(keys, await readFile(`${privateKeyFile}.pub`), { mode: 0o644 });
      extra.push(`Match User ${account.sftpOnly.user}`, `  ChrootDirectory ${account.sftpOnly.chroot}`, `  AuthorizedKeysFile ${keys}`,
        '  ForceCommand internal-sftp', '  AllowTcpForwarding no');
    }

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const cfg = join(dir, 'sshd_config');
      const subsystem = `Subsystem sftp internal-sftp${options.sftpRefuses?.length ? ` -P ${options.sftpRefuses.join(',')}` : ''}`;
      await writeFile(cfg, sshdConfig(dir, port, Object.values(hostKeyFiles), [...auth, subsystem, ...extra]));
      const log = join(dir, 'sshd.log');
      const launch = () => spawn(SSHD, ['-D', '-f', cfg, '-E', log], { stdio: 'ignore' });
      let child = launch();
      const up = await waitForPort(child, port);
      if (!up) {
        const text = await readFile(log, 'utf8').catch(() => '');
        if (attempt < 3 && /Address already in use/.test(text)) continue;
        throw new Error(`sshd did not start:\n${text}`);
      }
      const knownHostsFile = join(dir, 'known_hosts');
      await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
      let stopped: Promise<void> | undefined;
      const stop = () => (stopped ??= stopProcessTree(child));
      const handle: SshdHandle = {
        host: '127.0.0.1', port, user: 'root', privateKeyFile,
        privateKey: await readFile(privateKeyFile, 'utf8'),
        hostPublicKey, hostFingerprint: fingerprint(parsePublicKey(hostPublicKey)!), hostKeys,
        knownHostsFile, dataDir, dir, pid: child.pid!, logFile: log, ...account, stop,
        restart: async () => {
          await stop();
          child = launch();
          if (!(await waitForPort(child, port))) throw new Error(`sshd did not start again on port ${port}:\n${await readFile(log, 'utf8').catch(() => '')}`);
          handle.pid = child.pid!;
          stopped = undefined;
        },
        dispose: async () => {
          await stop();
          await accounts.removeAll();
          await rm(dir, { recursive: true, force: true });
        },
      };
      return handle;
    }
  } catch (err) {
    await accounts.removeAll();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** `extra` ends the file: it may open `Match` blocks. */
function sshdConfig(dir: string, port: number, hostKeyFiles: string[], extra: string[]): string {
  return [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    ...hostKeyFiles.map((f) => `HostKey ${f}`),
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UseDNS no',
    'PrintMotd no',
    'MaxStartups 64',
    'MaxSessions 64',
    'LogLevel VERBOSE',
    ...extra,
    '',
  ].join('\n');
}

/**
 * Throwaway local accounts (`ferry-<hex>`, no home, /bin/sh) for logins
 * other than root's, and directories made for them; `removeAll()` deletes
 * both again.
 */
class Accounts {
  private readonly users: string[] = [];
  readonly dirs: string[] = [];

  async create(password?: string): Promise<string> {
    const user = `ferry-${randomBytes(4).toString('hex')}`;
    // '*': no password, but not locked ('!'), which sshd would refuse even for key logins.
    await run('useradd', ['--system', '--password', '*', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', user]);
    this.users.push(user);
    if (password !== undefined) {
      const child = spawn('chpasswd', { stdio: ['pipe', 'ignore', 'inherit'] });
      const done = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.stdin.end(`${user}:${password}\n`);
      if ((await done) !== 0) throw new Error(`chpasswd failed for ${user}`);
    }
    return user;
  }

  async removeAll(): Promise<void> {
    for (const user of this.users.splice(0)) await run('userdel', [user]).catch(() => {});
    for (const dir of this.dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}

/** A chroot for an sftp-only account: sshd wants every component root-owned and not writable by others, so not under /tmp. */
async function sftpOnlyAccount(accounts: Accounts): Promise<SftpOnlyAccount> {
  const user = await accounts.create();
  await mkdir('/run/ferry-test', { recursive: true, mode: 0o755 });
  const chroot = await mkdtemp(join('/run/ferry-test', 'chroot-'));
  accounts.dirs.push(chroot);
  await chmod(chroot, 0o755);
  const dataDir = join(chroot, 'data');
  await mkdir(dataDir);
  await run('chown', [`${user}:`, dataDir]);
  return { user, chroot, dataDir, remotePath: '/data' };
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
export function freePort(): Promise<number> {
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
export async function waitForPort(child: ChildProcess, port: number): Promise<boolean> {
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
export async function stopProcessTree(child: ChildProcess): Promise<void> {
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
