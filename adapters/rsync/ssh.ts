import { isUtf8 } from 'node:buffer';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/log.js';
import { abortedError, StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import { runProcess, type ProcessResult } from '../../src/util/spawn.js';
import { hostKeyAccepted, hostKeyError, keyType, parsePublicKey, type HostKeyPolicy } from '../ssh/host-key.js';
import { SshMaster } from './ssh-master.js';

/** Bytes of stdout kept by `exec` (listings of a backup directory are far smaller). */
const MAX_STDOUT = 32 * 1024 * 1024;
/** Printed first by every remote command, to tell that a shell ran it. */
const SHELL_MARK = 'ferry-shell-ok';
/** The name the generated known_hosts file lists the server under (`HostKeyAlias`), whatever its address and port. */
const ALIAS = 'ferry-target';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** Path of the login key; used as is. */
  privateKeyFile?: string;
  /** Key text, written to a private 0600 temp file when there is no `privateKeyFile`. */
  privateKey?: string;
  hostKey: HostKeyPolicy;
  log: Logger;
}

/** Runs `file` with an argument array (never through a local shell), keeping its stdout for the caller and the tail of stderr. */
export function exec(file: string, args: string[], signal?: AbortSignal): Promise<ProcessResult> {
  return runProcess(file, args, { signal, captureStdout: true, captureBytes: MAX_STDOUT });
}

/** Quotes one word for a POSIX remote shell: everything inside single quotes is literal. */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Quotes a path for a POSIX remote shell, byte for byte: a Buffer that is
 * not valid UTF-8 has each byte from 0x80 up written as a `printf` octal
 * escape, so the shell builds the exact name (the command line itself
 * travels as UTF-8).
 */
export function shqBytes(word: string | Buffer): string {
  if (typeof word === 'string') return shq(word);
  if (isUtf8(word)) return shq(word.toString('utf8'));
  let out = '';
  let plain: number[] = [];
  const flush = () => {
    if (plain.length) out += shq(Buffer.from(plain).toString('latin1'));
    plain = [];
  };
  for (const b of word) {
    if (b < 0x80) {
      plain.push(b);
      continue;
    }
    flush();
    out += `"$(printf '\\${b.toString(8)}')"`;
  }
  flush();
  return out;
}

/**
 * Quotes one word of rsync's `-e` command. rsync splits that string itself
 * (no shell): on spaces, honouring single and double quotes, no backslashes.
 */
function rshWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (!word.includes("'")) return `'${word}'`;
  if (!word.includes('"')) return `"${word}"`;
  throw new Error(`cannot pass ${JSON.stringify(word)} to rsync -e`);
}

/**
 * The ssh side of the rsync target: a private temp directory with the
 * known_hosts file that encodes the host key policy (and the key when given as
 * text), the ssh options every call uses, and a shared connection that the
 * calls multiplex over. `prepare()` runs once, lazily; `dispose()` ends the
 * shared connection and removes the directory.
 */
export class SshSession {
  private ready?: Promise<string[]>;
  private dir?: string;
  private master?: SshMaster;

  constructor(readonly target: string, readonly t: SshTarget) {}

  /** ssh options (without the program name and the destination). Rejects with HOST_KEY when a fingerprint pin does not match. */
  prepare(signal?: AbortSignal): Promise<string[]> {
    if (!this.ready) {
      const attempt = this.build(signal);
      this.ready = attempt;
      attempt.catch(() => { if (this.ready === attempt) this.ready = undefined; });
    }
    return this.ready;
  }

  /** `rsync -e` value: ssh plus its options, quoted for rsync's own splitter. */
  async rsh(signal?: AbortSignal): Promise<string> {
    return ['ssh', ...(await this.callOptions(signal))].map(rshWord).join(' ');
  }

  /**
   * Runs `command` (a string for the remote POSIX shell, already quoted) on
   * the server. The shell first prints a marker, removed from `stdout`: when
   * it does not come back although ssh logged in, no shell ran the command (an
   * sftp-only account, a `nologin` or `false` shell), and this rejects with
   * CONFIG, quoting what the server printed instead.
   */
  async run(command: string, signal?: AbortSignal): Promise<ProcessResult> {
    const r = await exec('ssh', await this.argsFor(`echo ${SHELL_MARK}; ${command}`, signal), signal);
    const at = r.stdout.indexOf(`${SHELL_MARK}\n`);
    if (at >= 0) return { ...r, stdout: r.stdout.slice(at + SHELL_MARK.length + 1) };
    if (r.aborted || r.spawnError || r.exitCode === 255) return r;
    const said = `${r.stdout}\n${r.stderrTail}`.split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' / ');
    throw new StorageError('CONFIG', this.target,
      `the account ${this.t.user}@${this.t.host} has no shell: the server ran no command and ${said ? `said "${said}"` : 'said nothing'} (exit status ${r.exitCode}). ` +
      'rsync needs an account with a login shell; for an sftp-only account, use a target of type sftp');
  }

  /** Full ssh argument list for a streaming call. */
  async argsFor(command: string, signal?: AbortSignal): Promise<string[]> {
    return [...(await this.callOptions(signal)), '--', this.t.host, command];
  }

  async dispose(): Promise<void> {
    this.ready = undefined;
    await this.master?.stop();
    this.master = undefined;
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /**
   * Converts a failed ssh or rsync run into a StorageError. A refused host key
   * becomes HOST_KEY with the server's fingerprint (fetched with ssh-keyscan,
   * since ssh in batch mode does not print it for an unknown host).
   */
  async failure(r: ProcessResult, what: string, program: 'ssh' | 'rsync'): Promise<StorageError> {
    if (r.aborted) return abortedError(this.target, undefined, what);
    if (r.spawnError) {
      const missing = (r.spawnError as NodeJS.ErrnoException).code === 'ENOENT';
      return new StorageError('CONFIG', this.target, missing ? `${what}: the ${program} command is not installed on this machine` : `${what}: ${r.spawnError.message}`, { cause: r.spawnError });
    }
    const detail = r.stderrTail.trim().split('\n').slice(-4).join(' / ') || `exit status ${r.exitCode}`;
    const code = classify(r, program);
    if (code === 'HOST_KEY') {
      const offered = await scanHostKeys(this.t.host, this.t.port).catch(() => []);
      return hostKeyError(this.target, this.t, this.t.hostKey, offered, new Error(detail));
    }
    if (code === 'CONFIG' && /rsync/.test(detail)) {
      return new StorageError('CONFIG', this.target, `${what}: rsync is not installed on ${this.t.host} (${detail})`);
    }
    return new StorageError(code, this.target, `${what}: ${detail}`);
  }

  /** Options for one call: over the shared connection when it is up, else a direct login. */
  private async callOptions(signal?: AbortSignal): Promise<string[]> {
    const base = await this.prepare(signal);
    this.master ??= new SshMaster(join(this.dir!, 'mux'));
    await this.master.ensure(base, this.t.host);
    return [...this.master.clientOptions, ...base];
  }

  private async build(signal?: AbortSignal): Promise<string[]> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'ferry-ssh-'));
    const args = ['-p', String(this.t.port), '-l', this.t.user,
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4',
      '-o', 'LogLevel=ERROR'];
    let keyFile = this.t.privateKeyFile;
    if (!keyFile && this.t.privateKey !== undefined) {
      keyFile = join(this.dir, 'id');
      await writeFile(keyFile, this.t.privateKey.endsWith('\n') ? this.t.privateKey : `${this.t.privateKey}\n`, { mode: 0o600 });
    }
    if (keyFile) args.push('-i', keyFile, '-o', 'IdentitiesOnly=yes');

    const policy = this.t.hostKey;
    if (policy.kind === 'insecure') {
      // resolveHostKeyPolicy has already warned about this setting.
      return [...args, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null'];
    }
    let keys = policy.keys.filter((k) => hostKeyAccepted(policy, k));
    if (policy.fingerprints.length > 0 || keys.length === 0) {
      // ssh cannot pin a bare fingerprint: fetch the offered keys and keep the ones the policy accepts.
      // ssh re-checks the key at every connection, so a key swapped after this scan is still refused.
      let scanned: Buffer[];
      try {
        scanned = await scanHostKeys(this.t.host, this.t.port, signal);
      } catch (err) {
        throw new StorageError('UNAVAILABLE', this.target, `cannot read the host key of ${this.t.host}:${this.t.port}: ${(err as Error).message}`, { cause: err });
      }
      const ok = scanned.filter((k) => hostKeyAccepted(policy, k));
      if (ok.length === 0) throw hostKeyError(this.target, this.t, policy, scanned);
      keys = [...keys, ...ok];
    }
    const knownHosts = join(this.dir, 'known_hosts');
    await writeFile(knownHosts, keys.map((k) => `${ALIAS} ${keyType(k)} ${k.toString('base64')}\n`).join(''), { mode: 0o600 });
    return [...args, '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', `HostKeyAlias=${ALIAS}`, '-o', 'CheckHostIP=no', '-o', 'UpdateHostKeys=no'];
  }
}

/** The host keys `host:port` offers, via ssh-keyscan. Rejects when none could be read. */
export async function scanHostKeys(host: string, port: number, signal?: AbortSignal): Promise<Buffer[]> {
  const r = await exec('ssh-keyscan', ['-T', '10', '-p', String(port), host], signal);
  if (r.spawnError) throw new Error(`ssh-keyscan: ${r.spawnError.message}`);
  const keys = r.stdout.split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => parsePublicKey(l.trim().split(/\s+/).slice(1).join(' ')))
    .filter((k): k is Buffer => k !== undefined);
  if (keys.length === 0) throw new Error(r.stderrTail.trim().split('\n').filter((l) => !l.startsWith('#')).pop() || 'no answer');
  return keys;
}

const UNAVAILABLE = /connection refused|connection timed out|timed out|connection reset|connection closed|closed by remote host|no route to host|network is unreachable|broken pipe|could not resolve hostname|kex_exchange_identification|connection unexpectedly closed|not responding|io timeout|error in socket io/i;

/** The error code for a failed run, from the exit status and the stderr text. */
export function classify(r: ProcessResult, program: 'ssh' | 'rsync'): StorageErrorCode {
  const err = r.stderrTail;
  if (/host key verification failed|remote host identification has changed|host key .*is known|no \S+ host key is known/i.test(err)) return 'HOST_KEY';
  if (/command not found|rsync: not found|exec: rsync:/i.test(err) && (r.exitCode === 12 || r.exitCode === 127)) return 'CONFIG';
  if (/permission denied \(|too many authentication failures|unprotected private key|load key .*: (invalid format|incorrect passphrase)/i.test(err)) return 'AUTH';
  if (/no space left on device|disk quota exceeded/i.test(err)) return 'NO_SPACE';
  if (UNAVAILABLE.test(err)) return 'UNAVAILABLE';
  if (/permission denied|read-only file system/i.test(err)) return 'AUTH';
  if (r.exitCode === 255) return 'UNAVAILABLE';
  if (program === 'rsync' && [10, 12, 30, 35].includes(r.exitCode ?? -1)) return 'UNAVAILABLE';
  return 'UNKNOWN';
}
