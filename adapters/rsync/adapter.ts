import { randomBytes } from 'node:crypto';
import { posix, resolve as resolveLocal } from 'node:path';
import { Readable } from 'node:stream';
import type { Capabilities, ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../../src/storage/adapter.js';
import { isStorageError, StorageError } from '../../src/storage/errors.js';
import { startProcess, succeeded, type ProcessResult } from '../../src/util/spawn.js';
import { Backoff, DEFAULT_RESUME_TIMEOUT_MS } from '../ssh/backoff.js';
import { exec, shq, shqBytes, SshSession, type SshTarget } from './ssh.js';

/** Directory (inside the target directory) where rsync keeps an interrupted upload. Hidden, so it never lists. */
const PARTIAL_DIR = '.ferry-partial';
/** Remote exit statuses of our own scripts. */
const EXIT_MISSING = 44;
const EXIT_NO_RSYNC = 45;
const EXIT_EXISTS = 46;
/** Prefix of the hidden name an upload has until it is committed. */
const TEMP_PREFIX = '.ferry-partial-';

export interface RsyncAdapterOptions extends SshTarget {
  /** Remote directory; relative (or `~/...`) means under the login directory. */
  root: string;
  /** rsync `--bwlimit` value (KiB/s, or with a K/M/G suffix). */
  bwlimit?: string | number;
  /** How long an interrupted upload keeps resuming while the server receives nothing new (default 2 minutes). */
  resumeTimeoutMs?: number;
}

/**
 * Archives as files in one directory reached by rsync over ssh. Uploads need
 * a finished local file (`PutBody.path`; wrap with `withFileStaging` for
 * streams). rsync uploads to a hidden temporary name (an interrupted
 * transfer is kept in the hidden `.ferry-partial/` directory, and a lost
 * connection resumes from it: see `upload`), which then
 * gets its real name with a hard link (`ln`), which fails when the name
 * exists: a put never replaces a file (EXISTS). The name is also checked
 * before the upload starts. Files are 0600. Listing, reading, stat and
 * removal run small POSIX shell commands over ssh (GNU find on the server),
 * with every path single-quoted; rsync itself gets file names through its
 * protocol (`--protect-args`), so no name reaches a shell unquoted. Calls
 * share one multiplexed ssh connection; `close()` ends it.
 */
export class RsyncAdapter implements StorageAdapter {
  readonly capabilities: Capabilities = { streamingPut: false, maxConcurrency: 2 };
  private readonly root: string;
  private readonly ssh: SshSession;
  private rootReady = false;

  constructor(readonly name: string, private readonly options: RsyncAdapterOptions) {
    let r = options.root.replace(/^~(\/|$)/, '').replace(/(.)\/+$/, '$1') || '.';
    if (r.startsWith('-')) r = `./${r}`;
    this.root = r;
    this.ssh = new SshSession(name, options);
  }

  async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    const remote = this.pathOf(key);
    if (body.path === undefined) {
      throw new StorageError('CONFIG', this.name, 'rsync uploads need a local file; wrap the adapter with withFileStaging()');
    }
    await this.ensureRoot(options.signal);
    await this.refuseExisting(key, options.signal);
    const tmpKey = `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${key}`;
    const tmp = dashSafe(posix.join(this.root, tmpKey));
    const backoff = new Backoff(this.name, this.options.resumeTimeoutMs ?? DEFAULT_RESUME_TIMEOUT_MS, options.signal);
    try {
      const resumes = await this.upload(resolveLocal(body.path), tmpKey, backoff, options.signal);
      await this.untilDone(backoff, `committing ${remote}`, () => this.commit(tmp, remote, options.signal));
      if (resumes > 0) this.options.log.info(`${this.name}: ${remote} stored after resuming the upload ${resumes} time${resumes === 1 ? '' : 's'}`);
    } catch (err) {
      // Best effort: the connection may be what failed, and after an abort the server may still be saving the partial file.
      await this.ssh.run(`cd -- ${shq(this.root)} && rm -f -- ${shq(`${PARTIAL_DIR}/${tmpKey}`)} ${shq(tmpKey)}`).catch(() => {});
      throw err;
    }
    return body.size ?? (await this.stat(key, options)).size;
  }

  /**
   * Sends `local` to the hidden name `tmpKey` and returns how many times it
   * had to resume. When the connection drops, rsync's receiver keeps what
   * arrived in the partial directory; the next attempt (after the backoff)
   * uses it as the basis of a delta transfer, so only the rest of the file
   * crosses the network again.
   */
  private async upload(local: string, tmpKey: string, backoff: Backoff, signal?: AbortSignal): Promise<number> {
    const remote = dashSafe(posix.join(this.root, tmpKey));
    let kept = 0;
    let resumes = 0;
    await this.untilDone(backoff, `uploading ${remote}`, async (attempt) => {
      if (attempt > 0) {
        const now = await this.keptBytes(tmpKey, signal);
        if (now > kept) backoff.progressed();
        kept = now;
        resumes += 1;
        this.options.log.warn(`${this.name}: the upload of ${remote} was interrupted; resuming it from byte ${now} (resume ${resumes})`);
      }
      const r = await exec('rsync', [
        '--protect-args', '--perms', '--chmod=F600', `--partial-dir=${PARTIAL_DIR}`, '--timeout=120',
        ...(this.options.bwlimit !== undefined ? [`--bwlimit=${this.options.bwlimit}`] : []),
        '-e', await this.ssh.rsh(signal),
        local, `${this.hostSpec()}:${remote}`,
      ], signal);
      if (!succeeded(r)) throw await this.ssh.failure(r, `uploading ${remote}`, 'rsync');
    });
    return resumes;
  }

  /** Runs `step` until it succeeds; a retryable failure (the connection was lost or refused) waits out `backoff` first, anything else ends it. */
  private async untilDone<T>(backoff: Backoff, what: string, step: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step(attempt);
      } catch (err) {
        if (!isStorageError(err) || !err.retryable) throw err;
        this.options.log.debug(`${this.name}: ${err.message}; trying again`);
        await backoff.wait(err, what);
      }
    }
  }

  /**
   * Bytes of an interrupted upload that the server kept in the partial
   * directory. First waits (up to 140 s) while rsync's in-progress file was
   * written to in the last 130 s: a receiver that has not yet noticed the
   * lost connection saves what it has once it gives up (`--timeout=120`).
   */
  private async keptBytes(tmpKey: string, signal?: AbortSignal): Promise<number> {
    const inProgress = shq(`${tmpKey.replace(/[[\]*?\\]/g, '\\$&')}.*`);
    const partial = shq(`${PARTIAL_DIR}/${tmpKey}`);
    const r = await this.ssh.run([
      `cd -- ${shq(this.root)} || exit 1`,
      'n=0',
      `while [ $n -lt 140 ] && [ -n "$(find . -maxdepth 1 -name ${inProgress} -mmin -2.2 -print -quit)" ]; do sleep 1; n=$((n+1)); done`,
      `if [ -f ${partial} ]; then find ${partial} -maxdepth 0 -printf '%s'; else printf 0; fi`,
    ].join('\n'), signal);
    if (r.exitCode !== 0) throw await this.ssh.failure(r, `looking for the partial upload ${tmpKey}`, 'ssh');
    return Number(r.stdout.trim()) || 0;
  }

  /**
   * Gives the uploaded temp file its real name with a hard link, which fails
   * when the name exists (EXISTS; the temp file is then left to the caller's
   * cleanup). Safe to repeat after a lost answer: once the temp file is gone,
   * only this commit can have removed it, so the name is ours.
   */
  private async commit(tmp: string, remote: string, signal?: AbortSignal): Promise<void> {
    const t = shq(tmp);
    const f = shq(remote);
    // -T keeps ln from linking into a directory of that name.
    const c = await this.ssh.run([
      `[ -e ${t} ] || { [ -f ${f} ] && exit 0; exit 1; }`,
      `if ln -T -- ${t} ${f} 2>/dev/null; then rm -f -- ${t}; exit 0; fi`,
      `[ -e ${f} ] || [ -L ${f} ] && exit ${EXIT_EXISTS}`,
      'exit 1',
    ].join('\n'), signal);
    if (c.exitCode === EXIT_EXISTS) throw this.existsError(remote);
    if (c.exitCode !== 0) throw await this.ssh.failure(c, `committing ${remote}`, 'ssh');
  }

  /** Rejects with EXISTS when something already has the name `key`. */
  private async refuseExisting(key: string, signal?: AbortSignal): Promise<void> {
    const f = shq(this.pathOf(key));
    const r = await this.ssh.run(`[ -e ${f} ] || [ -L ${f} ] && exit ${EXIT_EXISTS}; exit 0`, signal);
    if (r.exitCode === EXIT_EXISTS) throw this.existsError(this.pathOf(key));
    if (r.exitCode !== 0) throw await this.ssh.failure(r, `checking ${this.pathOf(key)}`, 'ssh');
  }

  private existsError(remote: string): StorageError {
    return new StorageError('EXISTS', this.name, `${remote} already exists on ${this.options.host}; it is never replaced`);
  }

  /** Streams the file with `cat` over ssh. The script prints a marker byte first, so a missing file rejects here with NOT_FOUND. */
  async get(key: string, options: OpOptions = {}): Promise<Readable> {
    return this.readPath(this.pathOf(key), options);
  }

  /** Streams the file at `remote` (a path on the server, as the root is; a Buffer holds its exact bytes) like `get`. */
  async readPath(remoteBytes: string | Buffer, options: OpOptions = {}): Promise<Readable> {
    const p = shqBytes(remoteBytes);
    const remote = typeof remoteBytes === 'string' ? remoteBytes : remoteBytes.toString('utf8');
    const proc = startProcess('ssh', await this.ssh.argsFor(`[ -f ${p} ] || exit ${EXIT_MISSING}; printf F; exec cat -- ${p}`, options.signal), { signal: options.signal, stdout: 'stream' });
    const fail = async (r: ProcessResult) =>
      r.exitCode === EXIT_MISSING ? new StorageError('NOT_FOUND', this.name, `${remote} does not exist`) : this.ssh.failure(r, `reading ${remote}`, 'ssh');
    if (!proc.stdout) throw await fail(await proc.done);
    const it = proc.stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await it.next();
    if (first.done || first.value[0] !== 0x46) {
      proc.stdout.resume();
      throw await fail(await proc.done);
    }
    async function* rest() {
      if (first.value.length > 1) yield first.value.subarray(1);
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
      const r = await proc.done;
      if (!succeeded(r)) throw await fail(r);
    }
    const stream = Readable.from(rest(), { objectMode: false });
    stream.once('close', () => proc.stop());
    return stream;
  }

  async stat(key: string, options: OpOptions = {}): Promise<ObjectInfo> {
    const p = shq(this.pathOf(key));
    const r = await this.ssh.run(`[ -f ${p} ] || exit ${EXIT_MISSING}; find ${p} -maxdepth 0 -printf '%s %T@'`, options.signal);
    if (r.exitCode === EXIT_MISSING) throw new StorageError('NOT_FOUND', this.name, `${this.pathOf(key)} does not exist`);
    if (r.exitCode !== 0) throw await this.ssh.failure(r, `stat ${this.pathOf(key)}`, 'ssh');
    const [size, mtime] = r.stdout.trim().split(' ');
    return { key, size: Number(size), modified: new Date(Number(mtime) * 1000) };
  }

  /**
   * Regular files directly in the directory, not hidden ones (temporary and
   * partial uploads are hidden). A missing directory lists as empty.
   * Temporary and partial files of uploads killed more than a day ago are
   * swept first, best effort.
   */
  async list(prefix: string, options: OpOptions = {}): Promise<ObjectInfo[]> {
    const d = shq(this.root);
    const sweep = `find . -mindepth 1 -maxdepth 2 -path ${shq(`./${TEMP_PREFIX}*`)} -type f -mmin +1440 -delete 2>/dev/null; find ./${PARTIAL_DIR} -mindepth 1 -maxdepth 1 -type f -mmin +1440 -delete 2>/dev/null;`;
    const r = await this.ssh.run(`[ -d ${d} ] || exit 0; cd -- ${d} && { ${sweep} true; } && find . -mindepth 1 -maxdepth 1 -type f -printf '%s %T@ %f\\0'`, options.signal);
    if (r.exitCode !== 0) throw await this.ssh.failure(r, `listing ${this.root}`, 'ssh');
    const out: ObjectInfo[] = [];
    for (const rec of r.stdout.split('\0')) {
      const m = /^(\d+) ([\d.]+) (.+)$/s.exec(rec);
      if (!m || m[3]!.startsWith('.') || !m[3]!.startsWith(prefix)) continue;
      out.push({ key: m[3]!, size: Number(m[1]), modified: new Date(Number(m[2]) * 1000) });
    }
    return out;
  }

  async remove(key: string, options: OpOptions = {}): Promise<void> {
    const r = await this.ssh.run(`rm -f -- ${shq(this.pathOf(key))}`, options.signal);
    if (r.exitCode !== 0) throw await this.ssh.failure(r, `removing ${this.pathOf(key)}`, 'ssh');
  }

  /** Available bytes from `df -Pk` on the server; undefined when it cannot tell. */
  async freeSpace(options: OpOptions = {}): Promise<number | undefined> {
    const d = shq(this.root);
    const r = await this.ssh.run(`{ df -Pk -- ${d} 2>/dev/null || df -Pk .; } | tail -n 1`, options.signal);
    const avail = Number(r.stdout.trim().split(/\s+/)[3]);
    return r.exitCode === 0 && Number.isFinite(avail) ? avail * 1024 : undefined;
  }

  /** Checks login, that rsync exists on the server, and creates the directory. */
  async probe(options: OpOptions = {}): Promise<string[]> {
    this.rootReady = false;
    await this.ensureRoot(options.signal);
    return [`rsync over ssh to ${this.options.user}@${this.options.host}:${this.options.port} directory ${this.root}`];
  }

  async close(): Promise<void> {
    await this.ssh.dispose();
  }

  /** Creates the directory (with parents, mode 0700 for new ones) and checks for rsync, once per adapter. */
  private async ensureRoot(signal?: AbortSignal): Promise<void> {
    if (this.rootReady) return;
    const r = await this.ssh.run(`command -v rsync >/dev/null 2>&1 || exit ${EXIT_NO_RSYNC}; umask 077 && mkdir -p -- ${shq(this.root)}`, signal);
    if (r.exitCode === EXIT_NO_RSYNC) throw new StorageError('CONFIG', this.name, `rsync is not installed on ${this.options.host}`);
    if (r.exitCode !== 0) throw await this.ssh.failure(r, `creating ${this.root}`, 'ssh');
    this.rootReady = true;
  }

  /** The remote directory of this target, as the server's shell and rsync name it. */
  get remoteRoot(): string {
    return this.root;
  }

  /** The shared ssh session (one multiplexed connection), for the tree target. */
  get session(): SshSession {
    return this.ssh;
  }

  /** rsync's host part; an IPv6 address needs brackets. */
  hostSpec(): string {
    return this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
  }

  private pathOf(key: string): string {
    if (!key || key.includes('/') || key.includes('\\') || key === '.' || key === '..' || key.includes('\0') || key.includes('\n')) {
      throw new StorageError('CONFIG', this.name, `invalid object name ${JSON.stringify(key)}`);
    }
    return dashSafe(posix.join(this.root, key));
  }
}

/** A path that no command can mistake for an option. */
function dashSafe(p: string): string {
  return p.startsWith('-') ? `./${p}` : p;
}
