import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createParallelGzip } from '../../src/pipeline/parallel-gzip.js';

async function compress(data: Buffer, blockSize: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const pieces = Array.from({ length: Math.ceil(data.length / 70_001) }, (_, i) => data.subarray(i * 70_001, (i + 1) * 70_001));
  for await (const c of Readable.from(pieces).pipe(createParallelGzip({ level: 6, blockSize, parallel: 3 }))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

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

  it('handles empty input and input smaller than one block', async () => {
    expect(gunzipSync(await compress(Buffer.alloc(0), 1024)).length).toBe(0);
    expect(gunzipSync(await compress(Buffer.from('tiny'), 1024)).toString()).toBe('tiny');
  });
});
