import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GDriveAdapter, type GDriveSettings } from '../../adapters/gdrive/adapter.js';
import { createAuth, parseCredentials } from '../../adapters/gdrive/auth.js';
import { Backoff, DEFAULT_BACKOFF, type Clock } from '../../adapters/gdrive/backoff.js';
import type { PutBody } from '../../src/storage/adapter.js';
import { streamBody } from '../../src/storage/body.js';
import { isStorageError, type StorageError } from '../../src/storage/errors.js';
import { RetryAdapter } from '../../src/storage/wrappers/retry.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { recordingLogger } from '../helpers/log.js';
import { waitFor } from '../helpers/wait.js';
import { startDriveEmulator, type DriveEmulator } from '../servers/drive-emulator/index.js';

const KiB = 1024;
const CHUNK = 256 * KiB;
const CLIENT = { clientId: 'ferry-resume.apps.googleusercontent.com', clientSecret: 'emulator-client-secret', refreshToken: '1//emulator-refresh-token' };

let emulator: DriveEmulator;
let proxy: FaultProxy;

beforeAll(async () => {
  emulator = await startDriveEmulator();
  emulator.addOAuthClient(CLIENT);
  proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(emulator.rootUrl).port) });
});
afterAll(async () => {
  await proxy?.close();
  await emulator?.stop();
});

/** A time source whose sleeps pass at once, so outages of minutes cost no real time; it records every wait. */
function virtualClock(onSleep?: (elapsedMs: number) => void | Promise<void>): Clock & { sleeps: number[]; elapsed(): number } {
  const start = Date.now();
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    elapsed: () => now - start,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
      await onSleep?.(now - start);
    },
  };
}

/** An adapter on its own folder; `through: 'proxy'` sends every API request and chunk through the fault proxy. */
function adapter(settings: Partial<GDriveSettings> & { through?: 'proxy' } = {}): GDriveAdapter {
  const json = JSON.stringify({ type: 'authorized_user', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, refresh_token: CLIENT.refreshToken });
  const { through, ...rest } = settings;
  const apiRoot = through === 'proxy' ? `http://127.0.0.1:${proxy.port}/` : emulator.rootUrl;
  return new GDriveAdapter('drive', {
    auth: createAuth(parseCredentials('drive', json), emulator.tokenUrl),
    apiRoot,
    chunkSize: CHUNK,
    folderId: emulator.createFolder(`resume-${randomBytes(3).toString('hex')}`),
    ...rest,
  });
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const storedMd5 = (name: string) => emulator.files().find((f) => f.name === name)?.md5;
const chunkPuts = (since: number) => emulator.requests.slice(since).filter((r) => r.method === 'PUT' && r.contentRange).map((r) => `${r.contentRange} ${r.status}`);

/** A one-shot stream of `data` in 64 KiB pieces; `between(i)` runs before piece `i` is handed over. */
function pieces(data: Buffer, between?: (i: number) => void | Promise<void>): Readable {
  return Readable.from((async function* () {
    for (let i = 0, at = 0; at < data.length; i++, at += 64 * KiB) {
      await between?.(i);
      yield data.subarray(at, at + 64 * KiB);
    }
  })());
}

describe('a Drive upload resumes instead of starting over', () => {
  it('a chunk cut off mid-body is resumed from the offset Drive reports, and the file is byte-identical', async () => {
    const log = recordingLogger();
    const a = adapter({ chunkSize: 2 * CHUNK, log, clock: virtualClock() });
    const data = randomBytes(4 * CHUNK + 1000);
    const before = emulator.requests.length;
    emulator.cutNextChunks(CHUNK + 40 * KiB);
    expect(await a.put('cut.tar.gz', streamBody(pieces(data)))).toBe(data.length);
    expect(storedMd5('cut.tar.gz')).toBe(md5(data));
    // The session kept the first 256 KiB of the cut chunk; only the rest of it went again, from memory.
    expect(chunkPuts(before).slice(0, 3)).toEqual(['bytes */* 308', `bytes ${CHUNK}-${2 * CHUNK - 1}/* 308`, `bytes ${2 * CHUNK}-${4 * CHUNK - 1}/* 308`]);
    expect(log.lines.join('\n')).toMatch(/cut\.tar\.gz uploaded; resumed 1 time after interruptions/);
  });

  it('when Drive keeps fewer bytes than were sent, the rest is resent from the chunk in memory', async () => {
    const log = recordingLogger();
    const a = adapter({ chunkSize: 2 * CHUNK, log, clock: virtualClock() });
    const data = randomBytes(3 * CHUNK);
    const before = emulator.requests.length;
    emulator.shortNextChunks(CHUNK);
    await a.put('short.tar.gz', streamBody(pieces(data)));
    expect(storedMd5('short.tar.gz')).toBe(md5(data));
    expect(chunkPuts(before)).toEqual([`bytes 0-${2 * CHUNK - 1}/* 308`, `bytes ${CHUNK}-${2 * CHUNK - 1}/* 308`, `bytes ${2 * CHUNK}-${3 * CHUNK - 1}/${3 * CHUNK} 200`]);
    expect(log.lines.join('\n')).toMatch(/Drive kept 262144 of 524288 bytes sent; resending from byte 262144/);
  });

  it('429 with Retry-After: the upload waits at least as long as Drive asks, then resumes', async () => {
    const clock = virtualClock();
    const a = adapter({ clock, log: recordingLogger() });
    const data = randomBytes(3 * CHUNK + 5);
    emulator.setFailure('tooManyRequests', 2, { retryAfter: 7, on: 'chunks' });
    await a.put('429.tar.gz', streamBody(pieces(data)));
    expect(storedMd5('429.tar.gz')).toBe(md5(data));
    expect(clock.sleeps).toHaveLength(2);
    for (const ms of clock.sleeps) expect(ms).toBeGreaterThanOrEqual(7000);
  });

  it('rate-limit 403s and 503s are waited out with exponential backoff (2^n s plus jitter, as Google asks)', async () => {
    for (const kind of ['userRateLimit', 'unavailable'] as const) {
      const clock = virtualClock();
      const a = adapter({ clock, log: recordingLogger() });
      const data = randomBytes(2 * CHUNK + 5);
      emulator.setFailure(kind, 4, { on: 'chunks' });
      await a.put(`${kind}.tar.gz`, streamBody(pieces(data)));
      expect(storedMd5(`${kind}.tar.gz`)).toBe(md5(data));
      expect(clock.sleeps).toHaveLength(4);
      clock.sleeps.forEach((ms, n) => {
        expect(ms).toBeGreaterThanOrEqual(1000 * 2 ** n);
        expect(ms).toBeLessThan(1000 * 2 ** n + 1000);
      });
    }
  });

  it('a session that expires while the first chunk is still in memory is replaced by a new one', async () => {
    const a = adapter({ clock: virtualClock(), log: recordingLogger() });
    const data = randomBytes(CHUNK + 100);
    const before = emulator.requests.length;
    await a.put('renewed.tar.gz', streamBody(pieces(data, (i) => { if (i === 1) emulator.expireSessions(); })));
    expect(storedMd5('renewed.tar.gz')).toBe(md5(data));
    const opened = emulator.requests.slice(before).filter((r) => r.method === 'POST' && r.uploadType === 'resumable');
    expect(opened).toHaveLength(2);
  });

  it('a session that expires later fails the put clearly, since a stream cannot be replayed, and leaves no file', async () => {
    const a = adapter({ clock: virtualClock(), log: recordingLogger() });
    const data = randomBytes(3 * CHUNK);
    const err = (await a.put('expired.tar.gz', streamBody(pieces(data, (i) => { if (i === 6) emulator.expireSessions(); }))).catch((e: unknown) => e)) as StorageError;
    expect(err).toSatisfy((e) => isStorageError(e, 'UNAVAILABLE'));
    expect(err.message).toMatch(/expired\.tar\.gz.*session expired \(HTTP 404\) after 262144 bytes.*cannot be replayed/);
    expect(emulator.files().filter((f) => f.name === 'expired.tar.gz')).toEqual([]);
  });

  it('a replayable body whose session expires mid-upload is sent again from the start by the retry wrapper', async () => {
    const inner = adapter({ clock: virtualClock(), log: recordingLogger() });
    const a = new RetryAdapter(inner, { retries: 1, baseDelayMs: 1 });
    const data = randomBytes(3 * CHUNK);
    let opens = 0;
    const body: PutBody = {
      replayable: true,
      size: data.length,
      open: () => {
        const first = ++opens === 1;
        return pieces(data, (i) => { if (first && i === 6) emulator.expireSessions(); });
      },
    };
    expect(await a.put('replayed.tar.gz', body)).toBe(data.length);
    expect(opens).toBe(2);
    expect(storedMd5('replayed.tar.gz')).toBe(md5(data));
  });
});

describe('a Drive upload rides out network outages', () => {
  it('rides out 60 seconds of refused connections mid-upload and resumes where Drive left off', async () => {
    let refusedAt: number | undefined;
    const clock = virtualClock(async (elapsed) => {
      if (refusedAt !== undefined && elapsed - refusedAt >= 61_000) { refusedAt = undefined; await proxy.heal(); }
    });
    const log = recordingLogger();
    const a = adapter({ through: 'proxy', clock, log });
    const data = randomBytes(4 * CHUNK + 77);
    const outage = async (i: number) => { if (i === 6) { await proxy.refuse(); refusedAt = clock.elapsed(); } };
    await a.put('outage.tar.gz', streamBody(pieces(data, outage)));
    expect(storedMd5('outage.tar.gz')).toBe(md5(data));
    expect(clock.elapsed()).toBeGreaterThanOrEqual(61_000);
    expect(log.lines.join('\n')).toMatch(/failed \(ECONNREFUSED\); trying again in/);
    expect(log.lines.join('\n')).toMatch(/outage\.tar\.gz uploaded; resumed \d+ times? after interruptions/);
  });

  it('gives up after the backoff window without progress, with an UNAVAILABLE naming the file', async () => {
    const clock = virtualClock();
    const a = adapter({ through: 'proxy', clock, log: recordingLogger() });
    const data = randomBytes(3 * CHUNK);
    try {
      const err = (await a.put('dead.tar.gz', streamBody(pieces(data, async (i) => { if (i === 6) await proxy.refuse(); }))).catch((e: unknown) => e)) as StorageError;
      expect(err).toSatisfy((e) => isStorageError(e, 'UNAVAILABLE'));
      expect(err.message).toMatch(/dead\.tar\.gz.*gave up after \d+ s without progress \(ECONNREFUSED\)/);
      expect(clock.elapsed()).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.windowMs - DEFAULT_BACKOFF.maxMs);
      expect(clock.elapsed()).toBeLessThanOrEqual(DEFAULT_BACKOFF.windowMs);
    } finally {
      await proxy.heal();
    }
    expect(emulator.files().filter((f) => f.name === 'dead.tar.gz')).toEqual([]);
  });

  it('an abort while waiting out an outage ends the put at once with ABORTED', async () => {
    const log = recordingLogger();
    const a = adapter({ through: 'proxy', log }); // the real clock: the first wait is a second or more
    const ctrl = new AbortController();
    const data = randomBytes(3 * CHUNK);
    try {
      const put = a.put('stopped.tar.gz', streamBody(pieces(data, async (i) => { if (i === 6) await proxy.refuse(); })), { signal: ctrl.signal });
      await waitFor(() => log.lines.some((l) => l.includes('trying again in')), { what: 'the upload to start waiting out the outage' });
      ctrl.abort(new Error('run cancelled'));
      await expect(put).rejects.toSatisfy((e) => isStorageError(e, 'ABORTED'));
    } finally {
      await proxy.heal();
    }
  });

  it('the default backoff keeps trying through a 60-second outage: it gives up only after two minutes without progress', () => {
    const clock = virtualClock();
    const b = new Backoff(DEFAULT_BACKOFF, clock);
    let waited = 0;
    while (waited <= 60_000) {
      const delay = b.next();
      expect(delay).toBeDefined();
      waited += delay!;
      void clock.sleep(delay!);
    }
  });
});

describe('the Drive emulator answers as Drive does', () => {
  it('the emulator keeps Drive\'s resumable rules: 256 KiB-aligned chunks, 308 + Range, status queries', async () => {
    const token = emulator.issueToken();
    const open = await fetch(`${emulator.rootUrl}upload/drive/v3/files?uploadType=resumable&fields=id,size,md5Checksum`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'raw.bin' }),
    });
    const session = open.headers.get('location')!;
    const put = (range: string, body?: Buffer) => fetch(session, { method: 'PUT', headers: { 'content-range': range }, body: body ? new Uint8Array(body) : undefined });
    const data = randomBytes(256 * KiB + 10);
    expect((await put('bytes 0-999/*', data.subarray(0, 1000))).status).toBe(400);
    const first = await put('bytes 0-262143/*', data.subarray(0, 256 * KiB));
    expect([first.status, first.headers.get('range')]).toEqual([308, 'bytes=0-262143']);
    const query = await put('bytes */*');
    expect([query.status, query.headers.get('range')]).toEqual([308, 'bytes=0-262143']);
    expect(emulator.files().filter((f) => f.name === 'raw.bin')).toEqual([]);
    const last = await put(`bytes 262144-${data.length - 1}/${data.length}`, data.subarray(256 * KiB));
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({ size: String(data.length), md5Checksum: createHash('md5').update(data).digest('hex') });
  });

  it('an unknown name in `fields` is a 400 invalidParameter in Drive\'s error shape', async () => {
    const token = emulator.issueToken();
    for (const path of ['drive/v3/files?fields=files(id,bogusField)', 'drive/v3/about?fields=storageQuota(limit,bogusField)', `drive/v3/files/${emulator.createFolder('fields')}?fields=bogusField`]) {
      const res = await fetch(`${emulator.rootUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          code: 400,
          message: 'Invalid field selection bogusField',
          errors: [{ domain: 'global', reason: 'invalidParameter', message: 'Invalid field selection bogusField', location: 'fields', locationType: 'parameter' }],
          status: 'INVALID_ARGUMENT',
        },
      });
    }
  });

  it('a 429 carries Retry-After and Drive\'s rate-limit error document', async () => {
    emulator.setFailure('tooManyRequests', 1, { retryAfter: 3 });
    const res = await fetch(`${emulator.rootUrl}drive/v3/files`, { headers: { authorization: `Bearer ${emulator.issueToken()}` } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(await res.json()).toMatchObject({ error: { code: 429, errors: [{ domain: 'usageLimits', reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' } });
  });

  it('an expired upload session answers 404 on its URI', async () => {
    const open = await fetch(`${emulator.rootUrl}upload/drive/v3/files?uploadType=resumable`, {
      method: 'POST', headers: { authorization: `Bearer ${emulator.issueToken()}`, 'content-type': 'application/json' }, body: '{"name":"x.bin"}',
    });
    const session = open.headers.get('location')!;
    expect(emulator.expireSessions()).toBeGreaterThan(0);
    const res = await fetch(session, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
    expect(res.status).toBe(404);
  });
});

describe('shared drives', () => {
  it('a delete refused in a shared drive says that it needs the Manager (organizer) role', async () => {
    const driveId = emulator.createSharedDrive('Content-managed', 'fileOrganizer');
    const a = adapter({ folderId: emulator.createFolder('ferry', driveId) });
    await a.put('kept.json', streamBody(Readable.from([Buffer.from('{}')])));
    const err = (await a.remove('kept.json').catch((e: unknown) => e)) as StorageError;
    expect(err).toSatisfy((e) => isStorageError(e, 'AUTH'));
    expect(err.message).toMatch(/insufficientFilePermissions.*deleting needs the Manager role \(organizer\)/);
  });

  it('a folder in a shared drive reports no free-space figure, and the probe says why', async () => {
    const driveId = emulator.createSharedDrive('Backups');
    const a = adapter({ folderId: emulator.createFolder('ferry', driveId) });
    expect(await a.freeSpace()).toBeUndefined();
    expect((await a.probe()).join('\n')).toMatch(new RegExp(`in shared drive ${driveId}: free space unknown`));
  });
});
