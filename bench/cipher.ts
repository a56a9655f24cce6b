/**
 * The age payload alone, age-encryption's JavaScript STREAM against Ferry's
 * on node:crypto, in one process on the same bytes: encrypt and decrypt MB/s,
 * interleaved rounds, median of ROUNDS (default 3) after a warm-up round.
 * It reports both wall time and this process's CPU time (user + system),
 * which stays meaningful on a machine busy with other work.
 * Usage: npx vite-node bench/cipher.ts   (MIB=64 bytes of random payload, times SCALE)
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { createAgeHeader } from '../src/crypto/age-header.js';
import { createAgeDecryptStream, createAgeEncryptStream } from '../src/crypto/age-file.js';

const MIB = Number(process.env.MIB ?? 64) * Number(process.env.SCALE ?? 1);
const ROUNDS = Math.max(3, Number(process.env.ROUNDS ?? 3));
const payload = randomBytes(MIB << 20);
const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);
const source = () => Readable.from((function* () { for (let i = 0; i < payload.length; i += 1 << 20) yield payload.subarray(i, i + (1 << 20)); })());
const toNode = (web: ReadableStream<Uint8Array>) => Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>, { highWaterMark: 1 << 20 });
const toWeb = (r: Readable) => Readable.toWeb(r) as unknown as ReadableStream<Uint8Array>;

/** Drains a stream, keeping its bytes only when asked (to feed the decrypt cases). */
async function drain(r: Readable, keep: boolean): Promise<Buffer> {
  const parts: Buffer[] = [];
  let bytes = 0;
  await pipeline(r, new Writable({ write(c: Buffer, _e, done) { bytes += c.length; if (keep) parts.push(c); done(); } }));
  return keep ? Buffer.concat(parts) : Buffer.alloc(bytes);
}
const chunks = (file: Buffer) => Readable.from((function* () { for (let i = 0; i < file.length; i += 1 << 20) yield file.subarray(i, i + (1 << 20)); })());

const e = new Encrypter();
e.addRecipient(recipient);
const d = new Decrypter();
d.addIdentity(identity);
const jsFile = await drain(toNode(await e.encrypt(toWeb(source()))), true);
const nodeFile = await drain(createAgeEncryptStream(await createAgeHeader([recipient])).end(payload) as unknown as Readable, true);

const cases: Record<string, () => Promise<unknown>> = {
  'encrypt, age-encryption (JS)': async () => drain(toNode(await e.encrypt(toWeb(source()))), false),
  'encrypt, node:crypto': async () => drain(source().pipe(createAgeEncryptStream(await createAgeHeader([recipient]))), false),
  'decrypt, age-encryption (JS)': async () => drain(toNode(await d.decrypt(toWeb(chunks(jsFile)))), false),
  'decrypt, node:crypto': async () => drain(chunks(nodeFile).pipe(createAgeDecryptStream((h) => d.decryptHeader(h))), false),
};
const wall: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const t = performance.now();
    const c = process.cpuUsage();
    await run();
    const used = process.cpuUsage(c);
    if (round === 0) continue;
    (wall[name] ??= []).push((performance.now() - t) / 1000);
    (cpu[name] ??= []).push((used.user + used.system) / 1e6);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rate = (xs: number[]) => (MIB * 1.048576 / median(xs)).toFixed(0).padStart(6);
console.log(`age payload, ${MIB} MiB, median of ${ROUNDS} interleaved rounds after a warm-up (MB/s of wall time, of CPU time):`);
for (const name of Object.keys(wall)) console.log(`  ${name.padEnd(30)} ${rate(wall[name]!)} MB/s wall ${rate(cpu[name]!)} MB/s CPU`);
