// What this machine charges for the things a Node pipeline does that a C pipeline mostly avoids:
// first touch of fresh memory (a page fault per 4 KiB page), reading a file into fresh buffers
// against one reused buffer, and handing work to another thread and back. Usage: npx vite-node bench/machine.ts [DIR]
// It prints numbers, not a verdict; the README's benchmark section says how they explain the ratios.
import { closeSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFill } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { median } from './interleave.js';

const MiB = 1 << 20;
const PAGE = 4096;

function pageFault() {
  const times: [number, number][] = [];
  for (let round = 0; round < 3; round++) {
    const b = Buffer.allocUnsafeSlow(128 * MiB);
    const t0 = performance.now();
    for (let i = 0; i < b.length; i += PAGE) b[i] = 1;
    const first = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < b.length; i += PAGE) b[i] = 2;
    const second = performance.now() - t1;
    times.push([(first * 1000) / (b.length / PAGE), (second * 1000) / (b.length / PAGE)]);
  }
  return { first: median(times.map((t) => t[0])), again: median(times.map((t) => t[1])) };
}

function readThroughput(dir: string) {
  const file = join(dir, 'ferry-machine-read.bin');
  writeFileSync(file, Buffer.alloc(128 * MiB, 7));
  const fd = openSync(file, 'r');
  try {
    const chunk = MiB;
    // Fresh: every read lands in pages the process never touched (one new 128 MiB buffer per pass).
    const run = (fresh: boolean) => {
      const into = Buffer.allocUnsafeSlow(fresh ? 128 * MiB : chunk);
      const t0 = performance.now();
      for (let at = 0; at < 128 * MiB; at += chunk) readSync(fd, into, fresh ? at : 0, chunk, at);
      return 128 / ((performance.now() - t0) / 1000);
    };
    run(false);
    return { fresh: median([run(true), run(true), run(true)]), reused: median([run(false), run(false), run(false)]) };
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

async function threadPoolRoundTrip() {
  const b = Buffer.alloc(16);
  const n = 2000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await new Promise<void>((resolve, reject) => randomFill(b, (err) => (err ? reject(err) : resolve())));
  return ((performance.now() - t0) * 1000) / n;
}

async function workerRoundTrip() {
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", { eval: true });
  const n = 2000;
  const ping = () => new Promise<unknown>((resolve) => { worker.once('message', resolve); worker.postMessage(1); });
  for (let i = 0; i < 100; i++) await ping();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await ping();
  const us = ((performance.now() - t0) * 1000) / n;
  await worker.terminate();
  return us;
}

const dir = process.argv[2] ?? (process.platform === 'linux' ? '/dev/shm' : tmpdir());
const faults = pageFault();
const read = readThroughput(dir);
const pool = await threadPoolRoundTrip();
const worker = await workerRoundTrip();
console.log(`first touch of fresh memory: ${faults.first.toFixed(2)} µs per 4 KiB page (the same pages again: ${faults.again.toFixed(3)} µs)`);
console.log(`reading 128 MiB from ${dir} in 1 MiB reads: ${read.fresh.toFixed(0)} MB/s into fresh buffers, ${read.reused.toFixed(0)} MB/s into one reused buffer`);
console.log(`a round trip to libuv's thread pool: ${pool.toFixed(1)} µs; to a worker thread and back: ${worker.toFixed(1)} µs`);
