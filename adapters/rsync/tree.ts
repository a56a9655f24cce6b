import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { OpOptions } from '../../src/storage/adapter.js';
import { StorageError } from '../../src/storage/errors.js';
import { showPath, type SyncSource, type TreeAdapter, type TreeDirent, type TreePath, type TreeStat } from '../../src/storage/tree-adapter.js';
import { runProcess, succeeded } from '../../src/util/spawn.js';
import type { RsyncAdapter } from './adapter.js';
import { shq, shqBytes } from './ssh.js';

const EXIT_MISSING = 44;
const EXIT_EXISTS = 46;
const TEMP_PREFIX = '.ferry-partial-';
/** Past this many copied files their names are not kept: the core then hashes every file of the source. */
const MAX_SENT_NAMES = 100_000;
const TYPES: Record<string, TreeStat['type']> = { f: 'file', d: 'dir', l: 'symlink' };

/**
 * Snapshots as directory trees on a server reached by rsync over ssh. Each
 * source is sent with `rsync -a --link-dest` (`syncSource`): rsync itself
 * hard-links what is unchanged in the previous snapshot, comparing size and
 * mtime as it always does. Every other operation is a small shell command
 * on the shared ssh connection, every path single-quoted (a name that is not
 * valid UTF-8 is rebuilt from its bytes, see `shqBytes`; listings come back
 * hex-encoded), so names are kept byte for byte.
 */
export class RsyncTree implements TreeAdapter {
  readonly mtimeResolutionMs = 1000;
  readonly rawNames = true;

  constructor(readonly name: string, private readonly rsync: RsyncAdapter) {}

  private abs(path: string): string;
  private abs(path: TreePath): string | Buffer;
  private abs(path: TreePath): string | Buffer {
    if (typeof path !== 'string') return Buffer.concat([Buffer.from(this.abs('') + '/'), path]);
    const p = path ? posix.join(this.rsync.remoteRoot, path) : this.rsync.remoteRoot;
    return p.startsWith('-') ? `./${p}` : p;
  }

  /** Runs a shell script on the server; a non-zero status other than the ones `expect` allows is a StorageError naming `what`. */
  private async sh(script: string, what: string, signal?: AbortSignal, expect: number[] = []): Promise<{ code: number; stdout: string }> {
    const r = await this.rsync.session.run(script, signal);
    if (r.exitCode !== 0 && !expect.includes(r.exitCode ?? -1)) throw await this.rsync.session.failure(r, what, 'ssh');
    return { code: r.exitCode ?? -1, stdout: r.stdout };
  }

  /** Names are listed as hex (`od`), so bytes that are not valid UTF-8 come back exactly. */
  async readdir(path: TreePath, options: OpOptions = {}): Promise<TreeDirent[]> {
    const d = shqBytes(this.abs(path));
    const r = await this.bytesOf(`[ -d ${d} ] || exit ${EXIT_MISSING}`, `cd -- ${d} && find . -mindepth 1 -maxdepth 1 -printf '%y %f\\0'`,
      `listing ${showPath(this.abs(path))}`, options.signal, [EXIT_MISSING]);
    if (r.code === EXIT_MISSING) {
      if (path === '') return [];
      throw new StorageError('NOT_FOUND', this.name, `${showPath(this.abs(path))} does not exist`);
    }
    const bytes = r.bytes;
    const out: TreeDirent[] = [];
    for (let at = 0; at < bytes.length;) {
      let end = bytes.indexOf(0, at);
      if (end < 0) end = bytes.length;
      const rec = bytes.subarray(at, end);
      at = end + 1;
      if (rec.length < 3) continue;
      const name = rec.subarray(2);
      out.push({ name: name.toString('utf8'), ...(isUtf8(name) ? {} : { raw: Buffer.from(name) }), type: TYPES[String.fromCharCode(rec[0]!)] ?? 'other' });
    }
    return out;
  }

  async lstat(path: TreePath, options: OpOptions = {}): Promise<TreeStat | undefined> {
    const p = shqBytes(this.abs(path));
    const r = await this.sh(`[ -e ${p} ] || [ -L ${p} ] || exit ${EXIT_MISSING}; find ${p} -maxdepth 0 -printf '%y %s %T@ %m'`, `stat ${showPath(this.abs(path))}`, options.signal, [EXIT_MISSING]);
    if (r.code === EXIT_MISSING) return undefined;
    const [type, size, mtime, mode] = r.stdout.trim().split(' ');
    return { type: TYPES[type!] ?? 'other', size: Number(size), mtimeMs: Number(mtime) * 1000, mode: parseInt(mode!, 8) };
  }

  async mkdir(path: TreePath, mode: number, options: OpOptions = {}): Promise<void> {
    if (path === '') {
      await this.rsync.probe(options);
      return;
    }
    await this.sh(`mkdir -m ${(mode | 0o700).toString(8)} -- ${shqBytes(this.abs(path))}`, `creating ${showPath(this.abs(path))}`, options.signal);
  }

  /** Stages the bytes in a local temporary file and sends it with rsync (only the inventory goes this way). */
  async writeFile(path: TreePath, data: Readable, mode: number, options: OpOptions = {}): Promise<number> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-rsync-tree-'));
    try {
      const local = join(dir, 'file');
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of data) {
        chunks.push(c as Buffer);
        size += (c as Buffer).length;
        if (chunks.length >= 64) await writeFile(local, Buffer.concat(chunks.splice(0)), { flag: 'a', mode: 0o600 });
      }
      await writeFile(local, Buffer.concat(chunks), { flag: 'a', mode: 0o600 });
      await this.send(['--perms', `--chmod=F${(mode | 0o600).toString(8)}`], local, showPath(this.abs(path)), options.signal);
      return size;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async putFile(path: string, data: Buffer, options: OpOptions = {}): Promise<void> {
    const tmp = this.abs(`${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    const dir = await mkdtemp(join(tmpdir(), 'ferry-rsync-tree-'));
    try {
      await writeFile(join(dir, 'file'), data, { mode: 0o600 });
      await this.send(['--perms', '--chmod=F600'], join(dir, 'file'), tmp, options.signal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const t = shq(tmp);
    const f = shq(this.abs(path));
    const r = await this.sh(`if ln -T -- ${t} ${f} 2>/dev/null; then rm -f -- ${t}; exit 0; fi; rm -f -- ${t}; [ -e ${f} ] && exit ${EXIT_EXISTS}; exit 1`, `writing ${this.abs(path)}`, options.signal, [EXIT_EXISTS]);
    if (r.code === EXIT_EXISTS) throw new StorageError('EXISTS', this.name, `${this.abs(path)} already exists; it is never replaced`);
  }

  async link(existing: TreePath, path: TreePath, options: OpOptions = {}): Promise<void> {
    await this.sh(`ln -T -- ${shqBytes(this.abs(existing))} ${shqBytes(this.abs(path))}`, `hard-linking ${showPath(this.abs(existing))} as ${showPath(this.abs(path))}`, options.signal);
  }

  async symlink(linkTarget: TreePath, path: TreePath, options: OpOptions & { mtime?: Date } = {}): Promise<void> {
    const p = shqBytes(this.abs(path));
    const time = options.mtime ? ` && ${touch(p, options.mtime)}` : '';
    await this.sh(`ln -s -- ${shqBytes(linkTarget)} ${p}${time}`, `creating symlink ${showPath(this.abs(path))}`, options.signal);
  }

  async readlink(path: TreePath, options: OpOptions = {}): Promise<Buffer> {
    const r = await this.bytesOf(':', `readlink -n -- ${shqBytes(this.abs(path))}`, `reading symlink ${showPath(this.abs(path))}`, options.signal);
    return r.bytes;
  }

  /**
   * Runs `check`, then `script` with its output sent back hex-encoded (`od`),
   * so bytes that are not valid UTF-8 arrive exactly. The output is held in
   * a temporary file on the server first, so a failing `script` fails the call.
   */
  private async bytesOf(check: string, script: string, what: string, signal?: AbortSignal, expect: number[] = []): Promise<{ code: number; bytes: Buffer }> {
    const r = await this.sh(`${check} || exit $?; t=$(mktemp) || exit 1; { ${script}; } > "$t" && od -An -v -tx1 < "$t"; rc=$?; rm -f -- "$t"; exit $rc`, what, signal, expect);
    return { code: r.code, bytes: Buffer.from(r.stdout.replace(/\s+/g, ''), 'hex') };
  }

  async setAttributes(path: TreePath, mode: number, mtime: Date, options: OpOptions = {}): Promise<void> {
    const p = shqBytes(this.abs(path));
    await this.sh(`chmod ${mode.toString(8)} -- ${p} && ${touch(p, mtime)}`, `setting mode and mtime of ${showPath(this.abs(path))}`, options.signal);
  }

  readFile(path: TreePath, options: OpOptions = {}): Promise<Readable> {
    return this.rsync.readPath(this.abs(path), options);
  }

  async rename(from: string, to: string, options: OpOptions = {}): Promise<void> {
    const t = shq(this.abs(to));
    const r = await this.sh(`[ -e ${t} ] || [ -L ${t} ] && exit ${EXIT_EXISTS}; mv -T -- ${shq(this.abs(from))} ${t}`, `renaming ${this.abs(from)} to ${this.abs(to)}`, options.signal, [EXIT_EXISTS]);
    if (r.code === EXIT_EXISTS) throw new StorageError('EXISTS', this.name, `${this.abs(to)} already exists; it is never replaced`);
  }

  async removeTree(path: string, options: OpOptions = {}): Promise<void> {
    await this.sh(`rm -rf -- ${shq(this.abs(path))}`, `removing ${this.abs(path)}`, options.signal);
  }

  async remove(path: string, options: OpOptions = {}): Promise<void> {
    await this.sh(`rm -f -- ${shq(this.abs(path))}`, `removing ${this.abs(path)}`, options.signal);
  }

  async replaceSymlink(path: string, linkTarget: string, options: OpOptions = {}): Promise<void> {
    const tmp = shq(this.abs(`${TEMP_PREFIX}${randomBytes(6).toString('hex')}-link`));
    await this.sh(`ln -s -- ${shq(linkTarget)} ${tmp} && mv -T -- ${tmp} ${shq(this.abs(path))}`, `updating ${this.abs(path)}`, options.signal);
  }

  /**
   * Sends one source with `rsync -a --link-dest`: files whose size and mtime
   * equal those in the previous snapshot become hard links to them, the rest
   * is copied. Resolves with the number of files rsync transferred, their
   * bytes and their names (see `TreeAdapter.syncSource`).
   */
  async syncSource(source: SyncSource, options: OpOptions = {}): Promise<{ files: number; bytes: number; sent?: Set<string> }> {
    const dest = this.abs(source.dest);
    const args = ['-a', '--out-format=%i %l %n'];
    if (source.previous) {
      // --link-dest is relative to the destination directory.
      const destDir = source.isDir ? source.dest : posix.dirname(source.dest);
      const prevDir = source.isDir ? source.previous : posix.dirname(source.previous);
      args.push(`--link-dest=${posix.relative(destDir, prevDir)}`);
    }
    // rsync then compares checksums, so a file is linked only when its bytes are the same.
    if (source.compareContent) args.push('--checksum');
    for (const e of source.exclude) args.push(`--exclude=/${e.replace(/^\//, '')}`);
    // Counted line by line as rsync prints them (`%i %l %n`): a first snapshot lists every file.
    let names: Set<string> | undefined = source.previous ? new Set() : undefined;
    const sent = { files: 0, bytes: 0 };
    await this.send(['-8', ...args], source.isDir ? `${source.local}/` : source.local, source.isDir ? `${dest}/` : dest, options.signal, (line) => {
      // `<f`: a file sent to the server (`>f` when rsync runs the other way).
      if (!line.startsWith('<f') && !line.startsWith('>f')) return;
      sent.files++;
      const m = /^\S+ (\d+) (.*)$/s.exec(line);
      sent.bytes += Number(m?.[1]) || 0;
      // rsync escapes control characters as \#ooo and the line is read as UTF-8: a name with a
      // backslash or a byte that is not UTF-8 cannot be told exactly, and then no name is trusted.
      const name = m?.[2];
      if (!names || name === undefined || name.includes('\\') || name.includes('\uFFFD') || names.size >= MAX_SENT_NAMES) names = undefined;
      else names.add(source.isDir ? name : '');
    });
    return { ...sent, sent: names };
  }

  async probe(options: OpOptions = {}): Promise<string[]> {
    const lines = await this.rsync.probe(options);
    const t = shq(this.abs(`${TEMP_PREFIX}probe-${randomBytes(6).toString('hex')}`));
    const r = await this.sh(`: > ${t} && ln -T -- ${t} ${t}-l; rc=$?; rm -f -- ${t} ${t}-l; exit $rc`, 'probing hard links', options.signal, [1]);
    if (r.code !== 0) throw new StorageError('CONFIG', this.name, `${this.rsync.remoteRoot} on the server does not support hard links; format: tree needs them`);
    return lines.map((l) => `${l} (snapshots as directory trees, hard links supported)`);
  }

  close(): Promise<void> {
    return this.rsync.close();
  }

  /** Sends `local` to `remote` with rsync; each line rsync prints goes to `onLine` (none is kept). */
  private async send(args: string[], local: string, remote: string, signal?: AbortSignal, onLine: (line: string) => void = () => {}): Promise<void> {
    const r = await runProcess('rsync', ['--protect-args', ...args, '-e', await this.rsync.session.rsh(signal), local, `${this.rsync.hostSpec()}:${remote}`], { signal, onStdoutLine: onLine });
    if (!succeeded(r)) throw await this.rsync.session.failure(r, `sending ${local} to ${remote}`, 'rsync');
  }
}

/** The shell command that sets the mtime (whole seconds) of the already-quoted path `p`, never following a symlink. */
function touch(p: string, mtime: Date): string {
  return `touch -h -d @${Math.floor(mtime.getTime() / 1000)} -- ${p}`;
}
