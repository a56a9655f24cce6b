#!/usr/bin/env node
// Deterministic benchmark dataset: an app data dir with a SQLite database,
// poorly compressible "audio" files, logs and 20k tiny JSON files.
// About 300 MB at scale 1. Usage: node bench/generate.mjs DIR [SCALE]
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir, scaleArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/generate.mjs DIR [SCALE]');
  process.exit(2);
}
const scale = Number(scaleArg ?? 1);
if (existsSync(join(dir, '.complete'))) process.exit(0);

/** Deterministic pseudo-random bytes (sha256 in counter mode) that do not compress. */
function noise(seed, size) {
  const out = Buffer.allocUnsafe(size);
  for (let off = 0, i = 0; off < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

mkdirSync(join(dir, 'audio'), { recursive: true });
mkdirSync(join(dir, 'logs'), { recursive: true });
mkdirSync(join(dir, 'meta'), { recursive: true });
mkdirSync(join(dir, 'data'), { recursive: true });

// 1. Audio-like files: 40 × 5 MB of noise at scale 1 (200 MB).
for (let i = 0; i < Math.round(40 * scale); i++) writeFileSync(join(dir, 'audio', `track-${String(i).padStart(3, '0')}.ogg`), noise(`audio${i}`, 5 * 1024 * 1024));

// 2. Logs: ~60 MB of compressible lines.
const lines = [];
for (let i = 0; i < 60 * 1024 * 1024 * scale / 80; i++) {
  lines.push(`2026-11-${String(1 + (i % 28)).padStart(2, '0')}T03:${String(i % 60).padStart(2, '0')}:00Z INFO GET /api/track/${i % 977} 200 ${i % 113}ms\n`);
  if (lines.length === 100_000) { writeFileSync(join(dir, 'logs', 'app.log'), lines.join(''), { flag: 'a' }); lines.length = 0; }
}
writeFileSync(join(dir, 'logs', 'app.log'), lines.join(''), { flag: 'a' });

// 3. 20k tiny JSON files in 100 directories.
for (let d = 0; d < 100; d++) {
  const sub = join(dir, 'meta', String(d).padStart(2, '0'));
  mkdirSync(sub, { recursive: true });
  for (let f = 0; f < Math.round(200 * scale); f++) {
    writeFileSync(join(sub, `${f}.json`), JSON.stringify({ id: d * 1000 + f, title: `Track ${f}`, tags: ['a', 'b', String(d)], pad: 'x'.repeat(1500 + (f % 500)) }));
  }
}

// 4. A SQLite database (~30 MB).
const sql = ['PRAGMA journal_mode=WAL;', 'CREATE TABLE plays (id INTEGER PRIMARY KEY, track INTEGER, at TEXT, payload BLOB);', 'BEGIN;'];
for (let i = 0; i < 120_000 * scale; i++) sql.push(`INSERT INTO plays (track, at, payload) VALUES (${i % 977}, '2026-11-${String(1 + (i % 28)).padStart(2, '0')}', randomblob(200));`);
sql.push('COMMIT;');
execFileSync('sqlite3', [join(dir, 'data', 'app.db')], { input: sql.join('\n') });

writeFileSync(join(dir, '.complete'), '');
