import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import { tarStream, type StoredFile } from '../../src/pipeline/tar-writer.js';

const source = (fsPath: string, as = 'src', exclude: string[] = []): PreparedSource => ({ as, kind: 'path', fsPath, exclude, cleanup: async () => {} });

/** Collects the tar stream; `onChunk` may change files while it is being produced. */
async function collect(sources: PreparedSource[], onChunk?: (n: number) => void) {
  const warnings: string[] = [];
  const files: StoredFile[] = [];
  const chunks: Buffer[] = [];
  const gen = tarStream(sources, async () => [{ path: 'inventory.json', data: Buffer.from('{}') }], {
    onWarning: (p, m) => warnings.push(`${p}: ${m}`),
    onFile: (f) => files.push(f),
  });
  for await (const c of gen) {
    chunks.push(c);
    onChunk?.(chunks.length);
  }
  return { tar: Buffer.concat(chunks), warnings, files };
}

/** Every entry under `root` with its exact name bytes (base64), type and content or link target, sorted. */
function rawTree(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: Buffer, rel: Buffer) => {
    for (const name of readdirSync(dir, { encoding: 'buffer' })) {
      const full = Buffer.concat([dir, Buffer.from('/'), name]);
      const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const st = lstatSync(full);
      const id = r.toString('base64');
      if (st.isDirectory()) { out.push(`${id} dir`); visit(full, r); }
      else if (st.isSymbolicLink()) out.push(`${id} link ${readlinkSync(full, { encoding: 'buffer' }).toString('base64')}`);
      else out.push(`${id} file ${readFileSync(full).toString('base64')}`);
    }
  };
  visit(Buffer.from(root), Buffer.alloc(0));
  return out.sort();
}

describe('tar writer', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-tar-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  const gnuList = (tar: Buffer) => execFileSync('tar', ['-tvf', '-'], { input: tar, encoding: 'utf8' });
  const gnuExtract = async (tar: Buffer) => {
    const out = join(dir, 'out');
    await mkdir(out, { recursive: true });
    execFileSync('tar', ['-xf', '-', '-C', out], { input: tar });
    return out;
  };

  it('writes long and non-ASCII names that GNU tar extracts exactly, without warnings', async () => {
    const long = `${'deep/'.repeat(25)}file-with-a-very-long-name-${'x'.repeat(120)}.txt`;
    await mkdir(join(dir, 'data', long, '..'), { recursive: true });
    await writeFile(join(dir, 'data', long), 'long');
    await writeFile(join(dir, 'data', 'Grüße — ñandú 日本.txt'), 'utf8');
    const { tar, warnings } = await collect([source(join(dir, 'data'), 'data')]);
    expect(warnings).toEqual([]);
    const stderr = execFileSync('/bin/sh', ['-c', 'tar -tf - 2>&1 >/dev/null'], { input: tar, encoding: 'utf8' });
    expect(stderr).toBe('');
    const out = await gnuExtract(tar);
    execFileSync('diff', ['-r', join(dir, 'data'), join(out, 'data')]);
  });

  it('stores file names that are not valid UTF-8 byte for byte, so GNU tar extracts exactly the same names and bytes', async () => {
    const at = (...parts: (string | number[])[]) => Buffer.concat([Buffer.from(`${dir}/data`), ...parts.map((p) => Buffer.concat([Buffer.from('/'), typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)]))]);
    const latin1 = [0x63, 0x61, 0x66, 0xe9]; // "café" in Latin-1
    mkdirSync(at(), { recursive: true });
    writeFileSync(at(latin1), 'short name');
    // Two names that look the same once decoded lossily must stay two files.
    writeFileSync(at([0x66, 0xff]), 'ff');
    writeFileSync(at([0x66, 0xfe]), 'fe');
    // Too long for the ustar fields: needs a pax path with the raw bytes.
    mkdirSync(at([...Buffer.from('d'.repeat(60)), 0xff]));
    writeFileSync(at([...Buffer.from('d'.repeat(60)), 0xff], [...Buffer.from('n'.repeat(120)), 0xfe]), 'long name');
    // Too long for the name field alone: split into the ustar prefix and name fields.
    mkdirSync(at([...Buffer.from('p'.repeat(99)), 0xff]));
    writeFileSync(at([...Buffer.from('p'.repeat(99)), 0xff], 'short.txt'), 'prefix');
    symlinkSync(Buffer.from([0x2e, 0x2f, 0x66, 0xff]), at([0x6c, 0x69, 0x6e, 0x6b, 0xff]));
    symlinkSync(Buffer.concat([Buffer.from('t'.repeat(110)), Buffer.from([0xff])]), at('long-target'));
    const { tar, warnings, files } = await collect([source(join(dir, 'data'), 'data')]);
    expect(warnings).toEqual([]);
    expect(execFileSync('/bin/sh', ['-c', 'tar -tf - 2>&1 >/dev/null'], { input: tar, encoding: 'utf8' })).toBe('');
    const out = await gnuExtract(tar);
    expect(rawTree(join(out, 'data'))).toEqual(rawTree(join(dir, 'data')));
    // The inventory shows a readable path and keeps the exact bytes beside it.
    const ff = files.find((f) => f.path_b64 === Buffer.from('data/f\xff', 'latin1').toString('base64'));
    expect(ff?.path).toBe('data/f\uFFFD');
    expect(files.filter((f) => f.path === 'data/f\uFFFD')).toHaveLength(2);
    expect(files.filter((f) => f.path_b64 !== undefined)).toHaveLength(5);
  });

  it('skips excluded patterns relative to the source, including whole directories', async () => {
    await mkdir(join(dir, 'd', 'cache', 'sub'), { recursive: true });
    await writeFile(join(dir, 'd', 'cache', 'sub', 'x'), '1');
    await writeFile(join(dir, 'd', 'keep.txt'), '1');
    await writeFile(join(dir, 'd', 'drop.tmp'), '1');
    const { tar } = await collect([source(join(dir, 'd'), 'd', ['cache/', '*.tmp'])]);
    expect(gnuList(tar)).toMatch(/d\/keep\.txt/);
    expect(gnuList(tar)).not.toMatch(/cache|drop\.tmp/);
  });

  it('a file that shrinks while it is read still yields a valid archive, zero-padded, with a warning', async () => {
    const path = join(dir, 'd', 'shrinks.bin');
    await mkdir(join(dir, 'd'));
    await writeFile(path, randomBytes(4 * 1024 * 1024));
    const { tar, warnings } = await collect([source(join(dir, 'd'), 'd')], (n) => { if (n === 3) truncateSync(path, 100); });
    expect(warnings.join('\n')).toMatch(/d\/shrinks\.bin: file shrank while being read/);
    expect(gnuList(tar)).toMatch(/4194304 .* d\/shrinks\.bin/);
    expect(gnuList(tar)).toMatch(/inventory\.json/);
  });

  it('a file that grows while it is read is cut at the size it had, with a warning', async () => {
    const path = join(dir, 'd', 'grows.log');
    await mkdir(join(dir, 'd'));
    await writeFile(path, randomBytes(3 * 1024 * 1024));
    const { tar, warnings } = await collect([source(join(dir, 'd'), 'd')], (n) => { if (n === 3) appendFileSync(path, randomBytes(1024 * 1024)); });
    expect(warnings.join('\n')).toMatch(/d\/grows\.log: file grew while being read; stored its first 3145728 bytes/);
    expect(gnuList(tar)).toMatch(/3145728 .* d\/grows\.log/);
  });

  it('small files of every size, read straight into the shared batches, come out of GNU tar byte for byte', async () => {
    const sizes = [0, 1, 511, 512, 513, 1024, 4095, 4096, 100_000, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1];
    await mkdir(join(dir, 'd'));
    // Enough files to fill several 256 KiB batches, so entries straddle their ends.
    for (let i = 0; i < 60; i++) await writeFile(join(dir, 'd', `f${String(i).padStart(2, '0')}`), randomBytes(sizes[i % sizes.length]!));
    const { tar, warnings } = await collect([source(join(dir, 'd'), 'd')]);
    expect(warnings).toEqual([]);
    const out = await gnuExtract(tar);
    expect(rawTree(join(out, 'd'))).toEqual(rawTree(join(dir, 'd')));
  });

  it('a small file that has more bytes than its stat said (as /proc files do) is stored at the stat size with a warning, and the entries after it are intact', async () => {
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'd', 'after.txt'), 'still here');
    const { tar, warnings } = await collect([source('/proc/self/status', 'status'), source(join(dir, 'd'), 'd')]);
    expect(warnings.join('\n')).toMatch(/status: file grew while being read; stored its first 0 bytes/);
    const out = await gnuExtract(tar);
    expect(readFileSync(join(out, 'status'), 'utf8')).toBe('');
    expect(readFileSync(join(out, 'd', 'after.txt'), 'utf8')).toBe('still here');
  });

  it('a source file that vanished is skipped with a warning and the archive stays valid', async () => {
    const { tar, warnings } = await collect([source(join(dir, 'missing.db'), 'db/missing.db'), source(join(dir), 'rest')]);
    expect(warnings.join('\n')).toMatch(/db\/missing\.db: vanished before it was read/);
    expect(gnuList(tar)).toMatch(/inventory\.json/);
  });

  it('stores sockets and FIFOs as nothing, with a warning', async () => {
    await mkdir(join(dir, 'd'));
    execFileSync('mkfifo', [join(dir, 'd', 'pipe')]);
    const { tar, warnings } = await collect([source(join(dir, 'd'), 'd')]);
    expect(warnings.join('\n')).toMatch(/d\/pipe: not a regular file/);
    expect(gnuList(tar)).not.toMatch(/pipe/);
  });
});
