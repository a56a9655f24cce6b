#!/usr/bin/env node
// Entry point, setting what must be set before anything else is loaded.
// - libuv's thread pool (gzip blocks, large-file reads and writes) defaults to 4 threads; the size is read
//   when the pool starts.
// - V8 doubles the young generation's semi-spaces, up to 16 MiB each, whenever much survives a scavenge,
//   which a run's stream of short-lived buffers soon makes it do. Keeping them small and unchanging
//   lowers a run's peak RSS by some 20 MiB at the same speed (measured with bench/run.sh and bench/memory.sh).
import { setFlagsFromString } from 'node:v8';

process.env.UV_THREADPOOL_SIZE ??= '16';
setFlagsFromString('--max-semi-space-size=4');
setFlagsFromString('--semi-space-growth-factor=1');
await import('./main.js');
