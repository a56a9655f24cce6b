import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createParallelGzip } from '../../src/pipeline/parallel-gzip.js';
import { basicConfig, workspace } from '../helpers/cli.js';

async function compress(data: Buffer, blockSize: number, storeRandom?: boolean, chunkSize = 70_001): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const pieces = Array.from({ length: Math.ceil(data.length / chunkSize) }, (_, i) => data.subarray(i * chunkSize, (i + 1) * chunkSize));
  for await (const c of Readable.from(pieces).pipe(createParallelGzip({ level: 6, blockSize, parallel: 3, storeRandom }))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
const sh = (cmd: string, cwd: string, input?: Buffer) => execFileSync('/bin/sh', ['-c', cmd], { cwd, input, maxBuffer: 256 << 20 });

describe('parallel gzip', () => {
  const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `line ${i % 977} of a log file that repeats\n`).join(''));
  const mixed = Buffer.concat([text, randomBytes(700_000), text]);

  it('produces one standard gzip member that gzip -d and zlib both decompress exactly', async () => {
    const gz = await compress(mixed, 256 * 1024);
    expect(gunzipSync(gz).equals(mixed)).toBe(true);
    const viaCli = execFileSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 << 20 });
    expect(createHash('sha256').update(viaCli).digest('hex')).toBe(createHash('sha256').update(mixed).digest('hex'));
    execFileSync('gzip', ['-t'], { input: gz });
  });

  it('compresses about as well as plain gzip, because each block sees the previous 32 KiB', async () => {
    const gz = await compress(text, 128 * 1024);
    expect(gz.length).toBeLessThan(gzipSync(text, { level: 6 }).length * 1.05);
  });

  it('input arriving in chunks of half a block or more (a big file read) still gives exactly the input back, also through gzip -t', async () => {
    for (const chunkSize of [128 * 1024, 300_001, 1 << 20]) {
      const gz = await compress(mixed, 256 * 1024, undefined, chunkSize);
      expect(gunzipSync(gz).equals(mixed), `chunks of ${chunkSize}`).toBe(true);
      execFileSync('gzip', ['-t'], { input: gz });
    }
    const random = randomBytes(3 << 20);
    const gz = await compress(Buffer.concat([text, random]), 256 * 1024, undefined, 1 << 20);
    expect(gunzipSync(gz).equals(Buffer.concat([text, random]))).toBe(true);
    expect(gz.length).toBeLessThan(random.length * 1.001 + gzipSync(text).length * 1.05);
  });

  it('handles empty input and input smaller than one block', async () => {
    expect(gunzipSync(await compress(Buffer.alloc(0), 1024)).length).toBe(0);
    expect(gunzipSync(await compress(Buffer.from('tiny'), 1024)).toString()).toBe('tiny');
  });

  it('random data goes out as stored 64 KiB deflate blocks instead of being deflated', async () => {
    const random = randomBytes(1 << 20);
    const stored = await compress(random, 1 << 20);
    // After the 10-byte gzip header: a non-final stored block header (0x00), LEN 65535, NLEN 0.
    expect([...stored.subarray(10, 15)]).toEqual([0x00, 0xff, 0xff, 0x00, 0x00]);
    expect(stored.length).toBeLessThanOrEqual(random.length + 5 * 17 + 18 + 10);
    expect(gunzipSync(stored).equals(random)).toBe(true);
    const deflated = await compress(random, 1 << 20, false);
    expect([...deflated.subarray(10, 15)]).not.toEqual([0x00, 0xff, 0xff, 0x00, 0x00]);
  });

  it('data mixing random and compressible files is one gzip member that gzip -t, pigz -t and GNU tar accept, within 1 % of gzip -6', async () => {
    const ws = await workspace();
    try {
      const tree = join(ws.dir, 'tree');
      await mkdir(tree);
      await writeFile(join(tree, 'a-track.ogg'), randomBytes(700_001));
      await writeFile(join(tree, 'b-app.log'), text);
      await writeFile(join(tree, 'c-small-random.bin'), randomBytes(70_000));
      await writeFile(join(tree, 'd-notes.txt'), text.subarray(0, 9_000));
      await writeFile(join(tree, 'e-clip.ogg'), randomBytes(1_500_000));
      await writeFile(join(tree, 'f-app.log'), text.subarray(100_000));
      const tar = sh('tar -cf - .', tree);
      const gz = await compress(tar, 256 * 1024);
      await writeFile(join(ws.dir, 'mixed.tar.gz'), gz);
      sh('gzip -t mixed.tar.gz && pigz -t mixed.tar.gz && mkdir out && tar -xzf mixed.tar.gz -C out && diff -r tree out', ws.dir);
      expect(gunzipSync(gz).equals(tar)).toBe(true);
      expect(gz.length).toBeLessThan(sh('gzip -6', ws.dir, tar).length * 1.01);
    } finally {
      await ws.cleanup();
    }
  });

  it('ferry run and restore round-trip random and compressible files byte for byte, and the archive passes gzip -t, pigz -t and GNU tar', async () => {
    const ws = await workspace();
    try {
      await writeFile(join(ws.dir, 'app/track.ogg'), randomBytes(2_500_000));
      await writeFile(join(ws.dir, 'app/big.log'), Buffer.concat([text, randomBytes(100_000), text]));
      await ws.writeConfig(basicConfig());
      const run = await ws.run(['run']);
      expect(run.code, run.stderr).toBe(0);
      const archive = (await readdir(join(ws.dir, 'backups'))).find((f) => /Z\.tar\.gz$/.test(f))!;
      sh(`gzip -t backups/${archive} && pigz -t backups/${archive} && mkdir by-tar && tar -xzf backups/${archive} -C by-tar && diff -r app by-tar/app`, ws.dir);
      const restored = await ws.run(['restore', 'latest', '--to', 'out']);
      expect(restored.code, restored.stderr).toBe(0);
      sh('diff -r app out/app', ws.dir);
      expect((await readFile(join(ws.dir, 'out/app/track.ogg'))).equals(await readFile(join(ws.dir, 'app/track.ogg')))).toBe(true);
    } finally {
      await ws.cleanup();
    }
  });
});
