import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, truncateSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import { tarStream } from '../../src/pipeline/tar-writer.js';

const source = (fsPath: string, as = 'src', exclude: string[] = []): PreparedSource => ({ as, kind: 'path', fsPath, exclude, cleanup: async () => {} });

/** Collects the tar stream; `onChunk` may change files while it is being produced. */
async function collect(sources: PreparedSource[], onChunk?: (n: number) => void) {
  const warnings: string[] = [];
  const chunks: Buffer[] = [];
  const gen = tarStream(sources, async () => [{ path: 'inventory.json', data: Buffer.from('{}') }], {
    onWarning: (p, m) => warnings.push(`${p}: ${m}`),
  });
  for await (const c of gen) {
    chunks.push(c);
    onChunk?.(chunks.length);
  }
  return { tar: Buffer.concat(chunks), warnings };
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

  it('skips excluded globs relative to the source, including whole directories', async () => {
    await mkdir(join(dir, 'd', 'cache', 'sub'), { recursive: true });
    await writeFile(join(dir, 'd', 'cache', 'sub', 'x'), '1');
    await writeFile(join(dir, 'd', 'keep.txt'), '1');
    await writeFile(join(dir, 'd', 'drop.tmp'), '1');
    const { tar } = await collect([source(join(dir, 'd'), 'd', ['cache/**', '**/*.tmp'])]);
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
