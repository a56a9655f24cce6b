import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractTar } from '../../src/restore/extract.js';
import { readTar } from '../../src/restore/read-tar.js';
import { END, file, header, pax } from '../helpers/raw-tar.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

describe('restoring archives made by other tools', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-foreign-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  const restore = (tar: Buffer | string, into = join(dir, 'out'), warnings: string[] = []) => {
    sh(`mkdir -p '${into}'`, dir);
    const input = typeof tar === 'string' ? createReadStream(tar) : Readable.from([tar]);
    return extractTar(input, into, { onWarning: (p, m) => warnings.push(`${p}: ${m}`) });
  };

  const sparseFormats: [string, string][] = [
    ['old GNU (type S)', '--format=gnu --sparse'],
    ['PAX 0.0', '--format=posix --sparse --sparse-version=0.0'],
    ['PAX 0.1', '--format=posix --sparse --sparse-version=0.1'],
    ['PAX 1.0', '--format=posix --sparse --sparse-version=1.0'],
  ];
  for (const [format, flags] of sparseFormats) {
    it(`restores a ${format} sparse member from GNU tar with its exact bytes and size, under its real name`, async () => {
      sh(`mkdir src && cd src && printf head > big && truncate -s 3M big && printf mid | dd of=big bs=1 seek=1500000 conv=notrunc 2>/dev/null && printf tail >> big`, dir);
      sh(`tar ${flags} -cf sparse.tar -C src big`, dir);
      await restore(join(dir, 'sparse.tar'));
      expect(readdirSync(join(dir, 'out'))).toEqual(['big']);
      const want = readFileSync(join(dir, 'src/big'));
      expect(statSync(join(dir, 'out/big')).size).toBe(want.length);
      expect(sha(readFileSync(join(dir, 'out/big')))).toBe(sha(want));
      const check = await readTar(createReadStream(join(dir, 'sparse.tar')));
      expect(check.bytes).toBe(want.length);
    });
  }

  it('refuses a sparse member whose map does not match its data, naming the entry', async () => {
    const tar = Buffer.concat([
      pax([['GNU.sparse.size', '10000'], ['GNU.sparse.map', '0,4096,8000,100']]),
      file('holes.bin', Buffer.alloc(512, 1)),
      END,
    ]);
    await expect(restore(tar)).rejects.toThrow(/refusing archive entry "holes.bin": its sparse map holds 4196 bytes but 512 are stored/);
    await expect(readTar(Readable.from([tar]))).rejects.toThrow(/refusing archive entry "holes.bin"/);
  });

  for (const format of ['gnu', 'posix']) {
    it(`restores names that are not valid UTF-8 byte for byte, and two of them stay two files (GNU tar, ${format} format)`, async () => {
      sh('mkdir src', dir);
      writeFileSync(Buffer.from(`${dir}/src/caf\xe9`, 'latin1'), 'e acute');
      writeFileSync(Buffer.from(`${dir}/src/caf\xe8`, 'latin1'), 'e grave');
      sh(`tar --format=${format} -cf names.tar -C src .`, dir);
      await restore(join(dir, 'names.tar'));
      const names = readdirSync(join(dir, 'out'), { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort();
      expect(names).toEqual(['caf\xe8', 'caf\xe9']);
      expect(readFileSync(Buffer.from(`${dir}/out/caf\xe9`, 'latin1'), 'utf8')).toBe('e acute');
      expect(readFileSync(Buffer.from(`${dir}/out/caf\xe8`, 'latin1'), 'utf8')).toBe('e grave');
    });
  }

  it('an unparsable pax mtime is a warning for that entry, and the file is still restored', async () => {
    const warnings: string[] = [];
    await restore(Buffer.concat([pax([['mtime', 'yesterday']]), file('notes.txt', 'hello'), END]), undefined, warnings);
    expect(readFileSync(join(dir, 'out/notes.txt'), 'utf8')).toBe('hello');
    expect(warnings).toEqual(['notes.txt: unparsable pax mtime "yesterday"; the header\'s time is used']);
  });

  it('with several pax headers on one entry, the last one wins', async () => {
    await restore(Buffer.concat([pax([['path', 'first.txt']]), pax([['path', 'second.txt']]), file('ustar-name.txt', 'x'), END]));
    expect(readdirSync(join(dir, 'out'))).toEqual(['second.txt']);
  });

  it('a pax header over the size limit is refused, naming the entry', async () => {
    const tar = Buffer.concat([pax([['comment', 'x'.repeat(1_100_000)]]), file('big-header.txt', 'x'), END]);
    await expect(restore(tar)).rejects.toThrow(/refusing archive entry "big-header.txt": its pax header is \d+ bytes, over the 1048576-byte limit/);
    await expect(readTar(Readable.from([tar]))).rejects.toThrow(/refusing archive entry "big-header.txt"/);
  });

  it('hard links that carry a size are accepted as GNU tar accepts them, with or without data after them', async () => {
    for (const withData of [false, true]) {
      const out = join(dir, `out-${withData}`);
      await restore(Buffer.concat([
        file('a.txt', '0123456789'),
        header({ name: 'b.txt', type: '1', size: 10, linkname: 'a.txt' }),
        ...(withData ? [Buffer.concat([Buffer.from('0123456789'), Buffer.alloc(502)])] : []),
        file('c.txt', 'ccc'),
        END,
      ]), out);
      expect(sh('stat -c %i a.txt b.txt | uniq | wc -l', out).trim()).toBe('1');
      expect(readFileSync(join(out, 'c.txt'), 'utf8')).toBe('ccc');
    }
  });

  const endings: [string, Buffer][] = [
    ['a single zero block', Buffer.alloc(512)],
    ['no end blocks at all', Buffer.alloc(0)],
    ['end blocks padded to a 10240-byte record', Buffer.alloc(10240 - 1024)],
  ];
  for (const [what, tail] of endings) {
    it(`accepts an archive ending in ${what}, as Java archivers write them`, async () => {
      const tar = Buffer.concat([file('one.txt', '1'), file('two.txt', '2'), tail]);
      expect(await restore(tar)).toMatchObject({ files: 2 });
      expect((await readTar(Readable.from([tar]))).files).toBe(2);
    });
  }

  it('an entry stored twice is restored as the later one, as GNU tar does, never as a bare EEXIST', async () => {
    await restore(Buffer.concat([
      header({ name: 'twice', type: '2', linkname: 'first' }),
      header({ name: './twice', type: '2', linkname: 'second' }),
      file('was-file', 'replaced by a link'),
      header({ name: 'was-file', type: '2', linkname: 'twice' }),
      header({ name: 'was-link', type: '2', linkname: 'twice' }),
      file('was-link', 'a file now'),
      END,
    ]));
    expect(sh('readlink twice was-file; cat was-link', join(dir, 'out'))).toBe('second\ntwice\na file now');
  });

  it('a time no file system can hold is a warning for that entry, never a bare "EINVAL: futime"', async () => {
    const warnings: string[] = [];
    const far = header({ name: 'far-future.txt', size: 1 });
    far.fill(0, 136, 148);
    far[136] = 0x80;
    far.writeUIntBE(1e13, 142, 6);
    far.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of far) sum += b;
    far.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await restore(Buffer.concat([far, Buffer.concat([Buffer.from('x'), Buffer.alloc(511)]), END]), undefined, warnings);
    expect(readFileSync(join(dir, 'out/far-future.txt'), 'utf8')).toBe('x');
    expect(warnings).toEqual(['far-future.txt: its mtime is out of range; it is not restored']);
  });

  it('a file system error names the entry it happened on', async () => {
    const tar = Buffer.concat([file('a.txt', 'x'), header({ name: 'b.txt', type: '1', linkname: 'not-in-the-archive' }), END]);
    await expect(restore(tar)).rejects.toThrow(/^cannot restore archive entry "b.txt": ENOENT \(link\): no such file or directory$/);
  });

  it('a file followed by entries under the same name is replaced by them (the later entry wins), and verify agrees', async () => {
    const tar = Buffer.concat([file('plain', 'a file'), file('plain/inside.txt', 'x'), file('other', 'a file'), header({ name: 'other/', type: '5' }), END]);
    await restore(tar);
    expect(readFileSync(join(dir, 'out/plain/inside.txt'), 'utf8')).toBe('x');
    expect(statSync(join(dir, 'out/other')).isDirectory()).toBe(true);
    expect((await readTar(Readable.from([tar]))).files).toBe(3);
  });
});
