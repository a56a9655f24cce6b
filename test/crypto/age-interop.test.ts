import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptStream, type ResolvedEncryption } from '../../src/pipeline/encrypt.js';
import { makeDecrypter, type DecryptKeys } from '../../src/restore/decrypt.js';
import { headerEnd } from '../../src/crypto/age-header.js';

const KiB64 = 64 * 1024;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SEALED = KiB64 + 16;
let dir: string;
let recipient: string;
let sshPublic: string;
const sh = (cmd: string, input?: Buffer) => execFileSync('/bin/sh', ['-c', cmd], { cwd: dir, input, maxBuffer: 64 << 20, timeout: 120_000 });
/** age reads passphrases only from a terminal: `script` gives it one, fed from stdin. */
const withTty = (cmd: string, typed: string) => sh(`printf '${typed}' | script -qec "${cmd}" /dev/null`);

/** Writes `data` in uneven pieces, so chunk boundaries never line up with writes. */
const pieces = (data: Buffer) => Readable.from(Array.from({ length: Math.ceil(data.length / 7001) }, (_, i) => data.subarray(i * 7001, (i + 1) * 7001)));

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const encrypt = async (data: Buffer, enc: ResolvedEncryption) => collect(await encryptStream(pieces(data), enc, 10));
const decrypt = async (file: Buffer, keys: DecryptKeys) => collect(await (await makeDecrypter(keys))(pieces(file), 'test.age'));

const sizes: Array<[string, number]> = [
  ['an empty payload', 0],
  ['a 1-byte payload', 1],
  ['a payload of exactly 64 KiB', KiB64],
  ['a payload of exactly 3 × 64 KiB', 3 * KiB64],
  ['a payload of 64 KiB + 1', KiB64 + 1],
  ['a 1 MiB payload in uneven writes', (1 << 20) + 12345],
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-age-'));
  sh('age-keygen -o key.txt 2>/dev/null && ssh-keygen -q -t ed25519 -N "" -f id_ed25519');
  recipient = sh('age-keygen -y key.txt').toString().trim();
  sshPublic = (await readFile(join(dir, 'id_ed25519.pub'), 'utf8')).trim();
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('age files interoperate with the age CLI', () => {
  it.each(sizes)('%s encrypted to an age recipient decrypts with age -d, and age -r output decrypts with ferry', async (_name, size) => {
    const data = randomBytes(size);
    const ours = await encrypt(data, { recipients: [recipient] });
    expect(sh('age -d -i key.txt', ours).equals(data)).toBe(true);
    const theirs = sh(`age -r ${recipient}`, data);
    expect((await decrypt(theirs, { identityFiles: [join(dir, 'key.txt')] })).equals(data)).toBe(true);
  });

  it('a payload of exactly 3 × 64 KiB ends with a full final chunk, the way age writes it', async () => {
    const data = randomBytes(3 * KiB64);
    const ours = await encrypt(data, { recipients: [recipient] });
    const theirs = sh(`age -r ${recipient}`, data);
    const payload = (file: Buffer) => file.length - headerEnd(file) - 16; // after the header and the 16-byte nonce
    expect(payload(ours)).toBe(3 * SEALED);
    expect(payload(theirs)).toBe(3 * SEALED);
  });

  it.each([0, KiB64, KiB64 + 1])('a passphrase-encrypted payload of %i bytes decrypts with age -d', async (size) => {
    const data = randomBytes(size);
    await writeFile(join(dir, 'ours.age'), await encrypt(data, { recipients: [], passphrase: 'correct horse' }));
    withTty('age -d ours.age > ours.out', 'correct horse\\n');
    expect((await readFile(join(dir, 'ours.out'))).equals(data)).toBe(true);
  });

  it('a file from age -p decrypts with the passphrase, and a wrong passphrase is one clear error', async () => {
    const data = randomBytes(KiB64 + 1);
    await writeFile(join(dir, 'plain'), data);
    withTty('age -p -o theirs.age plain', 'correct horse\\ncorrect horse\\n');
    const theirs = await readFile(join(dir, 'theirs.age'));
    expect((await decrypt(theirs, { identityFiles: [], passphrase: 'correct horse' })).equals(data)).toBe(true);
    await expect(decrypt(theirs, { identityFiles: [], passphrase: 'wrong' })).rejects.toThrow(/cannot decrypt test\.age: the passphrase does not match/);
  });

  it('a passphrase file asking for an scrypt work factor above 20 is refused before scrypt runs', async () => {
    const file = await encrypt(Buffer.from('x'), { recipients: [], passphrase: 'pw' });
    const hostile = Buffer.from(file.toString('latin1').replace(/^(-> scrypt \S+) 10$/m, '$1 30'), 'latin1');
    expect(hostile.equals(file)).toBe(false);
    await expect(decrypt(hostile, { identityFiles: [], passphrase: 'pw' })).rejects.toThrow(/scrypt work factor is too high/);
  });

  it.each([0, 2 * KiB64, KiB64 + 1])('a payload of %i bytes encrypted to an ssh-ed25519 key decrypts with age -d -i, and age -R output decrypts with ferry', async (size) => {
    const data = randomBytes(size);
    const ours = await encrypt(data, { recipients: [sshPublic] });
    expect(sh('age -d -i id_ed25519', ours).equals(data)).toBe(true);
    const theirs = sh('age -R id_ed25519.pub', data);
    expect((await decrypt(theirs, { identityFiles: [join(dir, 'id_ed25519')] })).equals(data)).toBe(true);
  });
});

describe('age headers Ferry writes itself, and the ones it leaves to age-encryption', () => {
  it('a file for several recipients (two age keys and an ssh-ed25519 key) decrypts with age -d and each of their keys', async () => {
    sh('age-keygen -o second.txt 2>/dev/null');
    const second = sh('age-keygen -y second.txt').toString().trim();
    const data = randomBytes(KiB64 + 3);
    const ours = await encrypt(data, { recipients: [recipient, second, sshPublic] });
    expect(ours.toString('latin1', 0, headerEnd(ours)).match(/^-> /gm)).toHaveLength(3);
    for (const key of ['key.txt', 'second.txt', 'id_ed25519']) expect(sh(`age -d -i ${key}`, ours).equals(data)).toBe(true);
  });

  it('a file for a post-quantum recipient (age1pq1...), whose header age-encryption makes, decrypts with its identity', async () => {
    const { generateHybridIdentity, identityToRecipient } = await import('age-encryption');
    const identity = await generateHybridIdentity();
    await writeFile(join(dir, 'pq.txt'), `${identity}\n`);
    const pq = await identityToRecipient(identity);
    expect(pq).toMatch(/^age1pq1/);
    const data = randomBytes(1000);
    const ours = await encrypt(data, { recipients: [pq, recipient] });
    expect((await decrypt(ours, { identityFiles: [join(dir, 'pq.txt')] })).equals(data)).toBe(true);
    expect(sh('age -d -i key.txt', ours).equals(data)).toBe(true);
  });

  it('a file age made for several recipients decrypts with the key of any of them, wherever its stanza is', async () => {
    sh('age-keygen -o third.txt 2>/dev/null');
    const third = sh('age-keygen -y third.txt').toString().trim();
    const data = randomBytes(5000);
    const theirs = sh(`age -r ${third} -R id_ed25519.pub -r ${recipient}`, data);
    for (const key of ['key.txt', 'third.txt', 'id_ed25519']) expect((await decrypt(theirs, { identityFiles: [join(dir, key)] })).equals(data)).toBe(true);
  });

  describe('a header that is not exactly right is refused before any byte is read', () => {
    let file: Buffer;
    let header: string;
    const keys = () => ({ identityFiles: [join(dir, 'key.txt')] });
    /** The file with its header text changed by `edit` (the payload as it was). */
    const edited = (edit: (header: string) => string) => Buffer.concat([Buffer.from(edit(header), 'latin1'), file.subarray(header.length)]);
    beforeAll(async () => {
      file = await encrypt(randomBytes(100), { recipients: [recipient] });
      header = file.toString('latin1', 0, headerEnd(file));
    });

    it('the untouched header decrypts', async () => {
      expect((await decrypt(file, keys())).length).toBe(100);
    });

    it.each([
      ['a changed MAC', (h: string) => h.replace(/--- (.)/, (_m, c: string) => `--- ${c === 'A' ? 'B' : 'A'}`), /invalid header HMAC/],
      ['an extra stanza the MAC does not cover', (h: string) => h.replace('\n--- ', '\n-> grease x\n\n--- '), /invalid header HMAC/],
      ['an X25519 stanza with a third argument', (h: string) => h.replace(/^(-> X25519 \S+)$/m, '$1 extra'), /invalid X25519 stanza/],
      ['an X25519 share of 31 bytes', (h: string) => h.replace(/^-> X25519 \S+$/m, `-> X25519 ${Buffer.alloc(31, 1).toString('base64').replace(/=+$/, '')}`), /invalid X25519 stanza/],
      ['a low-order X25519 share (all zeros)', (h: string) => h.replace(/^-> X25519 \S+$/m, `-> X25519 ${Buffer.alloc(32).toString('base64').replace(/=+$/, '')}`), /invalid X25519 stanza/],
      ['a body line in padded base64', (h: string) => h.replace(/^(-> X25519 \S+\n)(\S+)$/m, '$1$2='), /invalid stanza: not canonical unpadded base64/],
      // 32 bytes are 43 characters, whose last 2 bits must be zero.
      ['a body line whose last character has stray low bits', (h: string) => h.replace(/^(-> X25519 \S+\n\S{42})(\S)$/m, (_m, a: string, c: string) => a + B64[(B64.indexOf(c) & ~3) + 1]), /invalid stanza: not canonical unpadded base64/],
      ['a stanza argument with a tab in it', (h: string) => h.replace('-> X25519 ', '-> X25519\t'), /cannot decrypt test\.age: invalid stanza/],
      ['a MAC line that is not base64', (h: string) => h.replace(/--- \S+/, '--- !!!'), /invalid header MAC/],
      ['another version line', (h: string) => h.replace('age-encryption.org/v1', 'age-encryption.org/v2'), /not an age file|invalid version/],
    ])('%s', async (_name, edit, message) => {
      const bad = edited(edit);
      expect(bad.equals(file)).toBe(false);
      await expect(decrypt(bad, keys())).rejects.toThrow(message);
    });
  });
});

describe('a damaged age payload never decrypts', () => {
  const keys = () => ({ identityFiles: [join(dir, 'key.txt')] });
  let data: Buffer;
  let file: Buffer;
  let payloadStart: number;
  beforeAll(async () => {
    data = randomBytes(3 * KiB64 + 100);
    file = await encrypt(data, { recipients: [recipient] });
    payloadStart = file.length - (3 * SEALED + 116);
  });
  const chunk = (i: number) => file.subarray(payloadStart + i * SEALED, payloadStart + (i + 1) * SEALED);

  it('the untouched file decrypts (the damage below is all there is)', async () => {
    expect((await decrypt(file, keys())).equals(data)).toBe(true);
  });

  it('a file cut at a chunk boundary (the final chunk missing) is reported as truncated', async () => {
    await expect(decrypt(file.subarray(0, payloadStart + 3 * SEALED), keys())).rejects.toThrow(/truncated: chunk 2 .* is not the final chunk/);
    expect(() => sh('age -d -i key.txt', file.subarray(0, payloadStart + 3 * SEALED))).toThrow();
  });

  it('a file cut inside a chunk, or inside its tag, is rejected', async () => {
    await expect(decrypt(file.subarray(0, payloadStart + SEALED + 1000), keys())).rejects.toThrow(/damaged|truncated/);
    await expect(decrypt(file.subarray(0, payloadStart + 3 * SEALED + 5), keys())).rejects.toThrow(/truncated/);
    await expect(decrypt(file.subarray(0, payloadStart - 3), keys())).rejects.toThrow(/truncated/);
  });

  it('two chunks swapped are rejected', async () => {
    const swapped = Buffer.concat([file.subarray(0, payloadStart), chunk(1), chunk(0), file.subarray(payloadStart + 2 * SEALED)]);
    await expect(decrypt(swapped, keys())).rejects.toThrow(/damaged: chunk 0/);
  });

  it.each([0, 1, 2, 3])('one flipped bit in chunk %i is rejected', async (i) => {
    const flipped = Buffer.from(file);
    flipped[payloadStart + i * SEALED + 77]! ^= 0x10;
    await expect(decrypt(flipped, keys())).rejects.toThrow(new RegExp(`damaged: chunk ${i} `));
  });

  it('bytes after the final chunk are rejected, whether the final chunk is short or full', async () => {
    await expect(decrypt(Buffer.concat([file, Buffer.from('x')]), keys())).rejects.toThrow(/damaged: chunk 3/);
    const full = await encrypt(randomBytes(2 * KiB64), { recipients: [recipient] });
    await expect(decrypt(Buffer.concat([full, Buffer.alloc(SEALED)]), keys())).rejects.toThrow(/trailing data after the final chunk 1/);
    await expect(decrypt(Buffer.concat([full, Buffer.from('junk')]), keys())).rejects.toThrow(/trailing data after the final chunk 1/);
  });

  it('a wrong identity is one clear error before any byte is read', async () => {
    sh('age-keygen -o other.txt 2>/dev/null');
    await expect(decrypt(file, { identityFiles: [join(dir, 'other.txt')] })).rejects.toThrow(/cannot decrypt test\.age: the identities in .* do not match/);
  });
});
