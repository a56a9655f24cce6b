// Push benchmark under faults: the same streamed archive (one-shot, as in a
// run with no local target) pushed through the fault-injection proxy, once
// with no faults and once with one connection reset per DROP_MB (default
// 100) MB sent, to the Drive emulator, s3rver and sshd on loopback. Prints
// the median wall time of each and the ratio faulted / clean.
// Usage: npx vite-node bench/push-faults.ts [MB]   (npm run bench:push runs it too)
// A benchmark, not a test: a case that fails is reported, nothing is asserted.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gdrive from '../adapters/gdrive/index.js';
import s3 from '../adapters/s3/index.js';
import sftp from '../adapters/sftp/index.js';
import { silentLogger } from '../src/log.js';
import type { StorageAdapter } from '../src/storage/adapter.js';
import { streamBody } from '../src/storage/body.js';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import { startDriveEmulator } from '../test/servers/drive-emulator/index.js';
import { createBucket, S3RVER_CREDENTIALS, startS3rver } from '../test/servers/s3rver.js';
import { startSshd } from '../test/servers/sshd.js';
import { interleave, median } from './interleave.js';

const MB = 1024 * 1024;
const sizeMb = Number(process.argv[2] ?? 256);
const dropMb = Number(process.env.DROP_MB ?? 100);
const ROUNDS = Math.max(3, Number(process.env.ROUNDS ?? 3));
const drops = Math.floor(sizeMb / dropMb);
const work = await mkdtemp(join(tmpdir(), 'ferry-push-faults-'));
const archive = join(work, 'bench.tar.gz');
await writeFile(archive, randomBytes(sizeMb * MB)); // an archive is incompressible: random bytes stand in for one
const ctx = { configDir: work, log: silentLogger };

const drive = await startDriveEmulator();
const client = { clientId: 'bench.apps.googleusercontent.com', clientSecret: 'bench-secret', refreshToken: '1//bench-refresh-token' };
drive.addOAuthClient(client);
const s3rver = await startS3rver();
await createBucket(s3rver.endpoint, 'bench');
const sshd = await startSshd();
const port = (url: string) => Number(new URL(url).port);
const proxies: Record<string, FaultProxy> = {
  gdrive: await startFaultProxy({ host: '127.0.0.1', port: port(drive.rootUrl) }),
  s3: await startFaultProxy({ host: '127.0.0.1', port: port(s3rver.endpoint) }),
  sftp: await startFaultProxy({ host: sshd.host, port: sshd.port }),
};

/** Each target, reached through its proxy. */
const targets: Record<string, () => Promise<StorageAdapter>> = {
  gdrive: () => gdrive.create('gdrive', {
    folder: 'bench', api_root: `http://127.0.0.1:${proxies.gdrive!.port}/`, token_url: drive.tokenUrl, chunk_size: 8 * MB,
    credentials: JSON.stringify({ type: 'authorized_user', client_id: client.clientId, client_secret: client.clientSecret, refresh_token: client.refreshToken }),
  } as never, ctx),
  s3: () => s3.create('s3', {
    bucket: 'bench', prefix: '', region: 'us-east-1', endpoint: `http://127.0.0.1:${proxies.s3!.port}`,
    access_key_id: S3RVER_CREDENTIALS.accessKeyId, secret_access_key: S3RVER_CREDENTIALS.secretAccessKey, part_size: 16 * MB, queue_size: 2,
  } as never, ctx),
  sftp: () => sftp.create('sftp', {
    host: '127.0.0.1', port: proxies.sftp!.port, user: sshd.user, path: join(sshd.dataDir, 'faults'), private_key: sshd.privateKey, host_key: sshd.hostFingerprint,
  } as never, ctx),
};

interface Sample { seconds?: number; error?: string; drops: number }
let n = 0;

/** One streamed put of the archive; with `faulty`, the proxy resets a connection after every `dropMb` MB sent. */
async function push(name: string, faulty: boolean): Promise<Sample> {
  const proxy = proxies[name]!;
  await proxy.heal();
  const adapter = await targets[name]!();
  const before = proxy.stats.drops;
  if (faulty && drops > 0) proxy.dropAfter(dropMb * MB, { times: drops });
  const t = performance.now();
  try {
    await adapter.put(`bench-${n++}.tar.gz`, streamBody(createReadStream(archive)));
    return { seconds: (performance.now() - t) / 1000, drops: proxy.stats.drops - before };
  } catch (err) {
    return { error: (err as Error).message, drops: proxy.stats.drops - before };
  } finally {
    await adapter.close?.();
  }
}

try {
  process.stderr.write(`push under faults: a ${sizeMb} MB stream, ${drops} reset(s) (one per ${dropMb} MB) vs none, ${ROUNDS} rounds after a warm-up\n`);
  const cases: Record<string, () => Promise<Sample>> = {};
  for (const name of Object.keys(targets)) {
    cases[`${name} clean`] = () => push(name, false);
    cases[`${name} faulty`] = () => push(name, true);
  }
  const samples = await interleave(cases, ROUNDS);
  console.log(`push of a ${sizeMb} MB stream with one connection reset per ${dropMb} MB (median wall time; ratio = with resets / without)`);
  for (const name of Object.keys(targets)) {
    const clean = samples[`${name} clean`]!;
    const faulty = samples[`${name} faulty`]!;
    const failed = [...clean, ...faulty].find((s) => s.error);
    if (failed) {
      console.log(`  ${name.padEnd(7)} failed: ${failed.error}`);
      continue;
    }
    const c = median(clean.map((s) => s.seconds!));
    const f = median(faulty.map((s) => s.seconds!));
    console.log(`  ${name.padEnd(7)} clean ${c.toFixed(2).padStart(7)} s   with ${faulty[0]!.drops} reset(s) ${f.toFixed(2).padStart(7)} s   ratio ${(f / c).toFixed(2)}`);
  }
} finally {
  for (const p of Object.values(proxies)) await p.close();
  await drive.stop();
  await s3rver.stop();
  await sshd.dispose();
  await rm(work, { recursive: true, force: true });
}
