import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipped } from '../../src/restore/open.js';

describe('restore and verify inflate', () => {
  it('hands the tar on in 256 KiB pieces, not zlib\'s 16 KiB ones (each piece is a hop from the thread pool; see bench/gunzip.ts)', async () => {
    const data = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(1 << 20, 'a')]);
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const c of gunzipped(Readable.from([gzipSync(data)]))) {
      sizes.push((c as Buffer).length);
      parts.push(c as Buffer);
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(Math.max(...sizes)).toBe(256 * 1024);
    expect(sizes.length).toBeLessThanOrEqual(9);
  });

  it('an error upstream surfaces on the inflated stream', async () => {
    const source = new PassThrough();
    const out = gunzipped(source);
    source.destroy(new Error('connection reset'));
    await expect((async () => { for await (const _ of out) void _; })()).rejects.toThrow(/connection reset/);
  });
});
