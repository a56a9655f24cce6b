#!/usr/bin/env node
// Deterministic tree of N tiny files (about 100 bytes each, 1,000 per directory),
// for the bounded-memory case of the benchmark. Usage: node bench/generate-many.mjs DIR N
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, countArg] = process.argv.slice(2);
if (!dir || !countArg) {
  console.error('usage: node bench/generate-many.mjs DIR N');
  process.exit(2);
}
if (existsSync(join(dir, '.complete'))) process.exit(0);
const count = Number(countArg);
for (let i = 0; i < count; i++) {
  const sub = join(dir, String(Math.floor(i / 1000)).padStart(4, '0'));
  if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, `${i % 1000}.json`), `{"id":${i},"name":"item ${i}","tags":["x","y"],"v":${(i * 7919) % 10007}}\n`);
}
writeFileSync(join(dir, '.complete'), '');
