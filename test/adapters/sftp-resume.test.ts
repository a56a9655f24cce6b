import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, truncate, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SftpAdapter, type SftpAdapterOptions } from '../../adapters/sftp/adapter.js';
import { parseHostKeyOption } from '../../adapters/ssh/host-key.js';
import type { Logger } from '../../src/log.js';
import { streamBody } from '../../src/storage/body.js';
import { isStorageError, type StorageError } from '../../src/storage/errors.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A logger that keeps what an operator would read. */
function recordingLog(): Logger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, info: (m) => { infos.push(m); }, warn: (m) => { warnings.push(m); }, error() {}, debug() {} };
}

/** A live stream of `data` in 256 KiB pieces; `at(offset)` runs before the piece starting there is handed over. */
function liveBody(data: Buffer, at?: (offset: number) => Promise<void> | void) {
  async function* pieces() {
    for (let off = 0; off < data.length; off += 256 * 1024) {
      await at?.(off);
      yield data.subarray(off, off + 256 * 1024);
    }
  }
  return streamBody(Readable.from(pieces()));
}

describe('an sftp upload survives the network', () => {
  let server: SshdHandle;
  let proxy: FaultProxy;
  const open: SftpAdapter[] = [];
  /** An adapter that reaches the server through the fault proxy (or directly with `direct`), with its own directory. */
  const adapter = (dir: string, log: Logger, extra: Partial<SftpAdapterOptions> & { direct?: boolean } = {}) => {
    const a = new SftpAdapter('offsite', {
      host: server.host, port: extra.direct ? server.port : proxy.port, user: server.user, privateKey: server.privateKey,
      root: join(server.dataDir, dir), hostKey: parseHostKeyOption('offsite', server.hostPublicKey), log, ...extra,
    });
    open.push(a);
    return a;
  };
  const partials = async (dir: string) => (await readdir(join(server.dataDir, dir)).catch(() => [] as string[])).filter((n) => n.startsWith('.ferry-partial-'));

  beforeAll(async () => {
    server = await startSshd();
    proxy = await startFaultProxy({ host: server.host, port: server.port });
  });
  afterAll(async () => {
    await Promise.all(open.map((a) => a.close()));
    await proxy?.close();
    await server?.dispose();
  });

  it('a connection reset twice mid-upload resumes from the partial file and stores every byte, and the log says so', async () => {
    const log = recordingLog();
    const a = adapter('reset', log);
    const data = randomBytes(16 * MIB + 77);
    proxy.dropAfter(4 * MIB, { times: 2 });
    const drops = proxy.stats.drops;
    expect(await a.put('job-20260101T000000Z.tar.gz', liveBody(data))).toBe(data.length);
    expect(proxy.stats.drops - drops).toBe(2);
    expect(sha(await readFile(join(server.dataDir, 'reset', 'job-20260101T000000Z.tar.gz')))).toBe(sha(data));
    expect(await partials('reset')).toEqual([]);
    expect(log.warnings.filter((w) => w.includes('interrupted'))).toHaveLength(2);
    expect(log.infos).toContain('target "offsite": job-20260101T000000Z.tar.gz stored after resuming the upload 2 times');
  });

  it('an upload rides out more than a minute of refused connections and completes once the server is back', async () => {
    const log = recordingLog();
    const a = adapter('outage', log);
    const data = randomBytes(12 * MIB);
    let outageStarted = 0;
    const put = a.put('job-20260102T000000Z.tar.gz', liveBody(data, async (off) => {
      if (off === 4 * MIB) {
        await proxy.refuse();
        outageStarted = Date.now();
      }
    }));
    // The outage is the scenario: it lasts a minute by the clock, and the upload must have kept trying throughout.
    await waitFor(() => outageStarted > 0 && Date.now() - outageStarted > 61_000 && log.warnings.length >= 10, { what: 'a minute of outage with Ferry retrying', timeout: 120_000, interval: 500 });
    await proxy.heal();
    expect(await put).toBe(data.length);
    expect(sha(await readFile(join(server.dataDir, 'outage', 'job-20260102T000000Z.tar.gz')))).toBe(sha(data));
    expect(log.infos).toContain('target "offsite": job-20260102T000000Z.tar.gz stored after resuming the upload 1 time');
  }, 180_000);

  it('aborting the run while the upload waits for the server rejects at once with ABORTED', async () => {
    const log = recordingLog();
    const a = adapter('abort', log);
    const ctrl = new AbortController();
    try {
      const put = a.put('job-20260103T000000Z.tar.gz', liveBody(randomBytes(8 * MIB), async (off) => {
        if (off === 2 * MIB) await proxy.refuse();
      }), { signal: ctrl.signal }).catch((e: unknown) => e);
      await waitFor(() => log.warnings.length >= 2, { what: 'the upload to be retrying' });
      ctrl.abort(new Error('shutdown'));
      expect(await put).toSatisfy((e) => isStorageError(e, 'ABORTED'));
    } finally {
      await proxy.heal();
    }
  });

  it('when the server kept less of the partial upload than the replay buffer reaches back, the put fails saying so and stores nothing', async () => {
    const log = recordingLog();
    const dir = 'lost';
    const a = adapter(dir, log, { direct: true, replayBuffer: MIB });
    const put = a.put('job-20260104T000000Z.tar.gz', liveBody(randomBytes(12 * MIB), async (off) => {
      if (off !== 8 * MIB) return;
      // The server "loses" what it had confirmed: the partial file shrinks to nothing while sshd is down.
      await server.stop();
      const [partial] = await partials(dir);
      await truncate(join(server.dataDir, dir, partial!), 0);
      await server.restart();
    })).catch((e: unknown) => e);
    const err = (await put) as StorageError;
    expect(err).toSatisfy((e) => isStorageError(e, 'CORRUPT'));
    expect(err.message).toMatch(/cannot resume the upload .* kept 0 bytes .*replay_buffer 1048576/);
    expect(await readdir(join(server.dataDir, dir))).toEqual([]);
  });

  it('an upload that gives up resuming leaves a partial that never lists and is swept after 24 hours', async () => {
    const log = recordingLog();
    const dir = 'given-up';
    await mkdir(join(server.dataDir, dir), { recursive: true });
    const a = adapter(dir, log, { direct: true, resumeTimeoutMs: 1000 });
    const err = await a.put('job-20260105T000000Z.tar.gz', liveBody(randomBytes(6 * MIB), async (off) => {
      if (off === 2 * MIB) await server.stop();
    })).catch((e: unknown) => e);
    expect(err).toSatisfy((e) => isStorageError(e, 'UNAVAILABLE'));
    expect(String(err)).toMatch(/gave up resuming after 1 s/);
    await server.restart();
    const [partial] = await partials(dir);
    expect(partial).toBeDefined();
    expect((await stat(join(server.dataDir, dir, partial!))).size).toBeGreaterThan(0);
    expect(await a.list('')).toEqual([]);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(server.dataDir, dir, partial!), twoDaysAgo, twoDaysAgo);
    expect(await a.list('')).toEqual([]);
    expect(existsSync(join(server.dataDir, dir, partial!))).toBe(false);
  });
});
