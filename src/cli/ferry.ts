#!/usr/bin/env node
// Entry point. File writes during restore and the gzip/hash work all go
// through libuv's thread pool; its default of 4 threads makes a restore of
// many small files wait on itself. The size must be set before the pool
// starts, so it is set here, before anything else is loaded.
process.env.UV_THREADPOOL_SIZE ??= '16';
await import('./main.js');
