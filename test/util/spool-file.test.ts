import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpoolFile } from '../../src/util/spool-file.js';

describe('a spool file', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-spool-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('holds exactly the text appended, across its 1 MiB buffer, with lines longer than the buffer and characters of several bytes', () => {
    const spool = new SpoolFile(join(dir, 'mixed'));
    const parts: string[] = [];
    for (let i = 0; i < 40_000; i++) parts.push(i % 997 === 0 ? `${'é€😀'.repeat(i % 5 + 1)}\t${i}\n` : `line ${i}\t${'x'.repeat(i % 61)}\n`);
    parts.splice(20_000, 0, `${'z'.repeat(3 << 20)}\n`, `${'ü'.repeat(700_000)}\n`);
    for (const part of parts) spool.append(part);
    const expected = parts.join('');
    expect(spool.bytes).toBe(Buffer.byteLength(expected));
    spool.flush();
    expect(readFileSync(spool.path, 'utf8')).toBe(expected);
    spool.append('after the flush\n');
    spool.flush();
    expect(readFileSync(spool.path, 'utf8')).toBe(`${expected}after the flush\n`);
    spool.remove();
  });

  it('reads its lines back in order', () => {
    const spool = new SpoolFile(join(dir, 'lines'));
    const lines = Array.from({ length: 50_000 }, (_, i) => `${i.toString(36)}\t${'y'.repeat(i % 50)}`);
    for (const line of lines) spool.append(`${line}\n`);
    spool.flush();
    expect([...spool.lines(4096)]).toEqual(lines);
    spool.remove();
  });
});
