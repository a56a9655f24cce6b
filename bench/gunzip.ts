/**
 * Inflating a tar.gz alone, the way restore and verify read it: zlib's
 * streaming gunzip at several output chunk sizes against `gzip -dc` and
 * `pigz -dc` on the same file, in one invocation (interleaved rounds, median
 * of ROUNDS (default 3) after a warm-up). Prints wall and CPU time.
 * Usage: npx vite-node bench/gunzip.ts FILE.tar.gz
 */
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { gunzipped } from '../src/restore/open.js';
import { interleave, median } from './interleave.js';

const file = process.argv[2] ?? '';
if (!file) throw new Error('usage: npx vite-node bench/gunzip.ts FILE.tar.gz');
const ROUNDS = Math.max(3, Number(process.env.ROUNDS ?? 3));

interface Sample { wall: number; cpu: number }
const sink = () => new Writable({ highWaterMark: 1 << 20, write(_b: Buffer, _e, done) { done(); } });

async function node(make: () => NodeJS.ReadableStream): Promise<Sample> {
  const t = performance.now();
  const c = process.cpuUsage();
  await pipeline(make(), sink());
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
}

function tool(cmd: string): Sample {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'sh', '-c', `${cmd} '${file}' > /dev/null`], { encoding: 'utf8' });
  const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: (performance.now() - t) / 1000, cpu: user! + sys! };
}

const read = () => createReadStream(file, { highWaterMark: 1 << 20 });
const cases: Record<string, () => Promise<Sample> | Sample> = {
  'zlib gunzip, 16 KiB chunks': () => node(() => read().pipe(createGunzip())),
  'zlib gunzip, 256 KiB chunks': () => node(() => read().pipe(createGunzip({ chunkSize: 256 << 10 }))),
  'zlib gunzip, 1 MiB chunks': () => node(() => read().pipe(createGunzip({ chunkSize: 1 << 20 }))),
  'gunzipped() (restore, 256 KiB chunks)': () => node(() => gunzipped(read())),
  'gzip -dc': () => tool('gzip -dc'),
  'pigz -dc': () => tool('pigz -dc'),
};
const samples = await interleave(cases, ROUNDS);
console.log(`inflating ${file}, median of ${ROUNDS} interleaved rounds after a warm-up:`);
for (const [name, xs] of Object.entries(samples)) {
  console.log(`  ${name.padEnd(38)} ${median(xs.map((x) => x.wall)).toFixed(2).padStart(7)} s wall ${median(xs.map((x) => x.cpu)).toFixed(2).padStart(7)} s CPU`);
}
