/**
 * The parallel gzip alone on a tar of DIR: Ferry with and without storing
 * random segments, against `gzip -6` and `pigz -6` on the same tar stream, in
 * one invocation (interleaved rounds, median of ROUNDS (default 3) after a
 * warm-up). Prints wall time, CPU time (Ferry: this process, all threads;
 * the tools: their children's rusage) and the compressed size.
 * Usage: npx vite-node bench/gzip.ts DIR
 */
import { spawn, spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createParallelGzip } from '../src/pipeline/parallel-gzip.js';
import { interleave, median } from './interleave.js';

const dir = process.argv[2] ?? '';
if (!dir) throw new Error('usage: npx vite-node bench/gzip.ts DIR');
const ROUNDS = Math.max(3, Number(process.env.ROUNDS ?? 3));

interface Sample { wall: number; cpu: number; size: number }

async function ferry(storeRandom: boolean): Promise<Sample> {
  const t = performance.now();
  const c = process.cpuUsage();
  const tar = spawn('tar', ['-cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let size = 0;
  await pipeline(tar.stdout, createParallelGzip({ level: 6, storeRandom }), new Writable({ write(b: Buffer, _e, done) { size += b.length; done(); } }));
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6, size };
}

function tool(cmd: string): Sample {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'sh', '-c', `tar -cf - -C '${dir}' . | ${cmd} | wc -c`], { encoding: 'utf8' });
  const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: (performance.now() - t) / 1000, cpu: user! + sys!, size: Number(r.stdout.trim()) };
}

const cases: Record<string, () => Promise<Sample> | Sample> = {
  'ferry, random stored': () => ferry(true),
  'ferry, all deflated': () => ferry(false),
  'gzip -6': () => tool('gzip -6'),
  'pigz -6': () => tool('pigz -6'),
};
const samples = await interleave(cases, ROUNDS);
const gzipSize = samples['gzip -6']![0]!.size;
console.log(`parallel gzip on a tar of ${dir}, median of ${ROUNDS} interleaved rounds after a warm-up (tar's own CPU counts only for the tools):`);
for (const [name, xs] of Object.entries(samples)) {
  const size = xs[0]!.size;
  console.log(`  ${name.padEnd(22)} ${median(xs.map((x) => x.wall)).toFixed(2).padStart(7)} s wall ${median(xs.map((x) => x.cpu)).toFixed(2).padStart(7)} s CPU  ${size} bytes (${(size / gzipSize).toFixed(4)} × gzip -6)`);
}
