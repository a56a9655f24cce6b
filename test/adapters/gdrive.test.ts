import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GDriveAdapter, type GDriveSettings } from '../../adapters/gdrive/adapter.js';
import { createAuth, parseCredentials } from '../../adapters/gdrive/auth.js';
import gdrive from '../../adapters/gdrive/index.js';
import { loadConfig } from '../../src/config/load.js';
import { redact } from '../../src/config/redact.js';
import { silentLogger } from '../../src/log.js';
import type { StorageAdapter } from '../../src/storage/adapter.js';
import { bufferBody, streamBody } from '../../src/storage/body.js';
import { isStorageError, StorageError } from '../../src/storage/errors.js';
import { openTarget } from '../../adapters/index.js';
import { closedPort, readAll, testAdapterConformance } from '../conformance/suite.js';
import { FOLDER_MIME, startDriveEmulator, type DriveEmulator } from '../servers/drive-emulator/index.js';

const KiB = 1024;
const CLIENT = { clientId: 'ferry-test.apps.googleusercontent.com', clientSecret: 'emulator-client-secret', refreshToken: '1//emulator-refresh-token' };

let emulator: DriveEmulator;
let dir: string;
let userCreds: string;

beforeAll(async () => {
  emulator = await startDriveEmulator({ quotaBytes: 15e9 });
  emulator.addOAuthClient(CLIENT);
  dir = await mkdtemp(join(tmpdir(), 'ferry-gdrive-test-'));
  userCreds = join(dir, 'authorized_user.json');
  await writeFile(userCreds, JSON.stringify({ type: 'authorized_user', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, refresh_token: CLIENT.refreshToken }));
});
afterAll(async () => {
  await emulator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** An adapter made the way `ferry` makes it: from config options, through the registry definition (`credentials_file` read as the config loader reads it). */
async function fromConfig(options: Record<string, unknown>): Promise<StorageAdapter> {
  const { credentials_file: file = userCreds, ...rest } = options;
  const all = { chunk_size: 256 * KiB, api_root: emulator.rootUrl, token_url: emulator.tokenUrl, credentials: await readFile(file as string, 'utf8'), ...rest };
  return gdrive.create('drive', all as never, { configDir: dir, log: silentLogger });
}

/** An adapter built directly, for settings the config does not expose (list page size). */
function direct(settings: Partial<GDriveSettings> & { folderId: string }): GDriveAdapter {
  const auth = createAuth(parseCredentials('drive', JSON.stringify({ type: 'authorized_user', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, refresh_token: CLIENT.refreshToken })), emulator.tokenUrl);
  return new GDriveAdapter('drive', { auth, apiRoot: emulator.rootUrl, chunkSize: 256 * KiB, ...settings });
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const namesInDrive = (name: string) => emulator.files().filter((f) => f.name === name);

testAdapterConformance('gdrive (Drive v3 emulator)', async () => ({
  adapter: await fromConfig({ folder: `conformance-${randomBytes(3).toString('hex')}`, chunk_size: 1024 * KiB }),
  // resume_timeout 0: by default a put waits out an unreachable Drive for minutes.
  unreachable: async () => fromConfig({ folder_id: 'x', api_root: `http://127.0.0.1:${await closedPort()}/`, resume_timeout: 0 }),
  secret: CLIENT.refreshToken,
}));

describe('gdrive adapter against the Drive v3 emulator', () => {
  it('uploads a large stream with the resumable protocol in 256 KiB-aligned chunks, and Drive holds the same MD5', async () => {
    const a = await fromConfig({ folder: 'resumable' });
    const data = randomBytes(1024 * KiB + 1000);
    const before = emulator.requests.length;
    expect(await a.put('big.tar.gz', streamBody(Readable.from([data.subarray(0, 300 * KiB), data.subarray(300 * KiB)])))).toBe(data.length);

    const puts = emulator.requests.slice(before).filter((r) => r.method === 'PUT' && r.contentRange);
    expect(puts.map((r) => r.contentRange)).toEqual([
      'bytes 0-262143/*', 'bytes 262144-524287/*', 'bytes 524288-786431/*', 'bytes 786432-1048575/*', `bytes 1048576-${data.length - 1}/${data.length}`,
    ]);
    expect(puts.map((r) => r.status)).toEqual([308, 308, 308, 308, 200]);
    const [stored] = namesInDrive('big.tar.gz');
    expect(stored?.md5).toBe(md5(data));
    expect(md5(await readAll(await a.get('big.tar.gz')))).toBe(md5(data));
  });

  it('small files go up as one chunk of a resumable session, so a lost answer can be asked for again', async () => {
    const a = await fromConfig({ folder: 'small' });
    const before = emulator.requests.length;
    await a.put('m.json', bufferBody('{"format":"ferry/1"}'));
    const uploads = emulator.requests.slice(before).filter((r) => r.path === '/upload/drive/v3/files');
    expect(uploads.map((r) => [r.method, r.contentRange ?? null, r.status])).toEqual([['POST', null, 200], ['PUT', 'bytes 0-19/20', 200]]);
    expect((await readAll(await a.get('m.json'))).toString()).toBe('{"format":"ferry/1"}');
  });

  it('an aborted resumable upload never becomes a file', async () => {
    const a = await fromConfig({ folder: 'aborted' });
    const ctrl = new AbortController();
    async function* slow() {
      for (let i = 0; i < 64; i++) {
        if (i === 3) ctrl.abort(new Error('stop'));
        yield randomBytes(128 * KiB);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await expect(a.put('gone.tar.gz', streamBody(Readable.from(slow())), { signal: ctrl.signal })).rejects.toSatisfy((e) => isStorageError(e, 'ABORTED'));
    expect(namesInDrive('gone.tar.gz')).toEqual([]);
    expect(emulator.openSessions()).toBeGreaterThan(0);
  });

  it('an upload whose stored MD5 differs from the bytes sent fails as CORRUPT and leaves no file', async () => {
    const a = await fromConfig({ folder: 'corrupt' });
    for (const [key, body] of [['c.json', bufferBody('{}')], ['c.tar.gz', streamBody(Readable.from([randomBytes(300 * KiB)]))]] as const) {
      emulator.corruptNextUploads(1);
      const e = (await a.put(key, body).catch((x: unknown) => x)) as StorageError;
      expect(e).toSatisfy((x) => isStorageError(x, 'CORRUPT'));
      expect(e.message).toMatch(/MD5/);
      expect(namesInDrive(key)).toEqual([]);
    }
  });

  it('creates the named folder under My Drive when missing, and reuses it afterwards', async () => {
    const name = `Backups ${randomBytes(3).toString('hex')}`;
    await (await fromConfig({ folder: name })).put('a.bin', bufferBody('a'));
    await (await fromConfig({ folder: name })).put('b.bin', bufferBody('b'));
    const folders = emulator.files().filter((f) => f.name === name);
    expect(folders).toHaveLength(1);
    expect(folders[0]).toMatchObject({ mimeType: FOLDER_MIME, parents: [emulator.rootFolderId] });
    const inFolder = emulator.files().filter((f) => f.parents.includes(folders[0]!.id)).map((f) => f.name).sort();
    expect(inFolder).toEqual(['a.bin', 'b.bin']);
  });

  it('writes into an existing folder given by folder_id', async () => {
    const id = emulator.createFolder('made in the Drive UI');
    const a = await fromConfig({ folder_id: id });
    await a.put('x.bin', bufferBody('x'));
    expect(namesInDrive('x.bin')[0]?.parents).toEqual([id]);
    expect((await a.list('')).map((o) => o.key)).toEqual(['x.bin']);
  });

  it('an authorized_user file gets its access token from the token endpoint with the refresh token', async () => {
    const before = emulator.tokensIssued();
    const a = await fromConfig({ folder: 'refresh-flow' });
    await a.list('');
    expect(emulator.tokensIssued()).toBe(before + 1);
  });

  it('a service account key gets its token with a signed JWT assertion', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'ferry@emulator-project.iam.gserviceaccount.com';
    emulator.addServiceAccount(email, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const file = join(dir, 'service_account.json');
    await writeFile(file, JSON.stringify({ type: 'service_account', client_email: email, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), private_key_id: 'k1' }));
    const before = emulator.tokensIssued();
    const a = await fromConfig({ folder_id: emulator.createFolder('shared with the service account'), credentials_file: file });
    await a.put('sa.bin', bufferBody('from a service account'));
    expect((await readAll(await a.get('sa.bin'))).toString()).toBe('from a service account');
    expect(emulator.tokensIssued()).toBe(before + 1);
  });

  it('a revoked or bad token is AUTH, and a rejected refresh token is AUTH without echoing secrets', async () => {
    const a = await fromConfig({ folder: 'auth' });
    await a.list('');
    emulator.revokeTokens();
    const err = await a.list('').catch((e: unknown) => e);
    expect(err).toSatisfy((e) => isStorageError(e, 'AUTH'));
    expect((err as StorageError).message).toMatch(/HTTP 401/);

    const badFile = join(dir, 'revoked.json');
    await writeFile(badFile, JSON.stringify({ type: 'authorized_user', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, refresh_token: '1//revoked-refresh-token' }));
    const bad = await fromConfig({ folder: 'auth', credentials_file: badFile });
    const err2 = (await bad.list('').catch((e: unknown) => e)) as StorageError;
    expect(err2).toSatisfy((e) => isStorageError(e, 'AUTH'));
    expect(err2.message).toMatch(/invalid_grant/);
    expect(err2.message).not.toContain('revoked-refresh-token');
    expect(err2.message).not.toContain(CLIENT.clientSecret);
  });

  it('a full Drive is NO_SPACE with a clear message, and nothing is left behind', async () => {
    const a = await fromConfig({ folder: 'quota' });
    await a.list('');
    emulator.setFailure('quota');
    try {
      const small = (await a.put('full.json', bufferBody('{}')).catch((e: unknown) => e)) as StorageError;
      const big = (await a.put('full.tar.gz', streamBody(Readable.from([randomBytes(600 * KiB)]))).catch((e: unknown) => e)) as StorageError;
      for (const e of [small, big]) {
        expect(e).toSatisfy((x) => isStorageError(x, 'NO_SPACE'));
        expect(e.retryable).toBe(false);
        expect(e.message).toMatch(/storage quota exceeded/i);
      }
    } finally {
      emulator.setFailure(null);
    }
    expect(await a.list('full')).toEqual([]);
  });

  it('rate limits are RATE_LIMIT and retryable; 5xx is UNAVAILABLE and retryable', async () => {
    const a = await fromConfig({ folder: 'rate' });
    await a.list('');
    for (const [kind, code, text] of [['userRateLimit', 'RATE_LIMIT', /userRateLimitExceeded/], ['rateLimit', 'RATE_LIMIT', /rateLimitExceeded/], ['unavailable', 'UNAVAILABLE', /HTTP 503/]] as const) {
      emulator.setFailure(kind, 1);
      const e = (await a.list('').catch((x: unknown) => x)) as StorageError;
      expect(e).toSatisfy((x) => isStorageError(x, code));
      expect(e.retryable).toBe(true);
      expect(e.message).toMatch(text);
      expect(await a.list('')).toEqual([]);
    }
  });

  it('lists every file across several pages', async () => {
    const id = emulator.createFolder('paged');
    const a = direct({ folderId: id, listPageSize: 2 });
    for (let i = 0; i < 5; i++) await a.put(`job-${i}.tar.gz`, bufferBody(`archive ${i}`));
    const before = emulator.requests.length;
    const keys = (await a.list('job-')).map((o) => o.key).sort();
    expect(keys).toEqual(['job-0.tar.gz', 'job-1.tar.gz', 'job-2.tar.gz', 'job-3.tar.gz', 'job-4.tar.gz']);
    expect(emulator.requests.slice(before).filter((r) => r.method === 'GET' && r.path === '/drive/v3/files').length).toBe(3);
  });

  it('two puts of one name at the same time: exactly one wins and its file is the only one left', async () => {
    const folder = emulator.createFolder('race');
    const a = await fromConfig({ folder_id: folder });
    const b = await fromConfig({ folder_id: folder });
    const results = await Promise.allSettled([a.put('race.bin', bufferBody('from a')), b.put('race.bin', bufferBody('from b'))]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toSatisfy((e) => isStorageError(e, 'EXISTS'));
    expect(namesInDrive('race.bin')).toHaveLength(1);
    const winner = results[0]!.status === 'fulfilled' ? 'from a' : 'from b';
    expect((await readAll(await a.get('race.bin'))).toString()).toBe(winner);
  });

  it('a second put of a name keeps the first file, and deletes are permanent (nothing in the trash)', async () => {
    const a = await fromConfig({ folder: 'permanent' });
    await a.put('r.bin', bufferBody('one'));
    await expect(a.put('r.bin', bufferBody('two'))).rejects.toSatisfy((e) => isStorageError(e, 'EXISTS'));
    expect(namesInDrive('r.bin')).toHaveLength(1);
    expect((await readAll(await a.get('r.bin'))).toString()).toBe('one');
    await a.remove('r.bin');
    expect(namesInDrive('r.bin')).toEqual([]);
    expect(emulator.files().filter((f) => f.trashed)).toEqual([]);
  });

  it('reports free space from the Drive quota', async () => {
    const a = await fromConfig({ folder: 'space' });
    const free = await a.freeSpace!();
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(15e9);
  });

  it('a gdrive target in backup.config.yaml works with no code: credentials_file is read as a secret', async () => {
    const cfg = join(dir, 'backup.config.yaml');
    await writeFile(cfg, [
      'job: mss',
      'sources: [{ path: ./data }]',
      'targets:',
      '  drive:',
      '    type: gdrive',
      '    folder: from-yaml',
      '    credentials_file: ./authorized_user.json',
      `    api_root: ${emulator.rootUrl}`,
      `    token_url: ${emulator.tokenUrl}`,
      '    keep: 3',
      '',
    ].join('\n'));
    const config = loadConfig(cfg, {});
    expect(JSON.stringify(redact(config.targets))).not.toContain(CLIENT.refreshToken);
    const { adapter } = await openTarget(config, 'drive', silentLogger);
    await adapter.put('mss-20261122T031500Z.tar.gz', bufferBody('archive'));
    expect((await adapter.list('mss-')).map((o) => o.key)).toEqual(['mss-20261122T031500Z.tar.gz']);
  });

  it('refuses configs without exactly one folder, or with an unknown credentials type', async () => {
    await expect(fromConfig({})).rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
    await expect(fromConfig({ folder: 'a', folder_id: 'b' })).rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
    const odd = join(dir, 'odd.json');
    await writeFile(odd, JSON.stringify({ type: 'external_account', secret: 'do-not-print' }));
    const err = (await fromConfig({ folder: 'a', credentials_file: odd }).catch((e: unknown) => e)) as StorageError;
    expect(err).toSatisfy((e) => isStorageError(e, 'CONFIG'));
    expect(err.message).toMatch(/service_account/);
    expect(err.message).not.toContain('do-not-print');
  });
});
