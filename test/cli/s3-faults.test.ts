import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { collect, FERRY, workspace } from '../helpers/cli.js';
import { proxiedServer } from '../helpers/proxied-server.js';
import { waitFor } from '../helpers/wait.js';
import { createRgwBucket, startCephRgw } from '../servers/ceph-rgw.js';
import { createBucket, S3RVER_CREDENTIALS, startS3rver } from '../servers/s3rver.js';

const MiB = 1024 * 1024;

interface Server {
  port: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
  freshBucket(): Promise<string>;
  stop(): Promise<void>;
}

const isPart = (method: string, path: string) => method === 'PUT' && path.includes('partNumber=');

/**
 * `ferry run` pushing to S3 through a network that fails mid-upload: the run
 * still exits 0, the object on the target is byte for byte the archive the
 * local target holds (and the manifest's sha256), and the log says how often
 * the upload resumed.
 */
function describeFaultyPush(label: string, start: () => Promise<Server>): void {
  describe(`ferry run to s3 (${label}) through a failing network`, () => {
    const fx = proxiedServer(start);

    /** Starts a run of a job with a 12 MiB incompressible file to a local and an s3 target; `during` injects faults while it runs. */
    async function push(during: (run: { stderr(): string }) => Promise<void>) {
      const ws = await workspace();
      const bucket = await fx.server.freshBucket();
      await mkdir(join(ws.dir, 'big'));
      await writeFile(join(ws.dir, 'big', 'blob.bin'), randomBytes(12 * MiB));
      await writeFile(join(ws.dir, 's3-secret'), fx.server.credentials.secretAccessKey);
      await ws.writeConfig({
        job: 'app',
        state_dir: './state',
        sources: [{ path: './app', as: 'app' }, { path: './big', as: 'big' }],
        targets: {
          local: { type: 'local', path: './backups', keep: 7 },
          cloud: {
            type: 's3', bucket, prefix: 'app/', endpoint: `http://127.0.0.1:${fx.proxy.port}`, part_size: 5 * MiB,
            access_key_id: fx.server.credentials.accessKeyId, secret_access_key_file: './s3-secret', keep: 7,
          },
        },
      });
      const child = spawn(process.execPath, [FERRY, 'run', '--json'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      const run = collect(child);
      try {
        await during({ stderr: () => run.stderr });
        const result = await run.done;
        const archive = (await readdir(join(ws.dir, 'backups'))).find((f) => /^app-\d{8}T\d{6}Z\.tar\.gz$/.test(f));
        const client = new S3Client({
          endpoint: `http://127.0.0.1:${fx.server.port}`, region: 'us-east-1', forcePathStyle: true, credentials: fx.server.credentials,
          requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
        });
        const fetchObject = async (key: string) => Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
        const stored = archive ? await fetchObject(`app/${archive}`) : undefined;
        const manifest = archive ? JSON.parse((await fetchObject(`app/${archive}.manifest.json`)).toString()) as { sha256: string } : undefined;
        client.destroy();
        const local = archive ? await readFile(join(ws.dir, 'backups', archive)) : undefined;
        return { result, archive, stored, local, manifest };
      } finally {
        if (!run.exited) child.kill('SIGKILL');
        await fx.proxy.heal();
        await ws.cleanup();
      }
    }

    const sha = (b: Buffer | undefined) => b && createHash('sha256').update(b).digest('hex');

    function expectComplete(out: Awaited<ReturnType<typeof push>>): void {
      expect(out.result.code, out.result.stdout + out.result.stderr).toBe(0);
      expect(out.archive).toBeDefined();
      expect(out.stored!.length).toBeGreaterThan(10 * MiB);
      expect(sha(out.stored)).toBe(sha(out.local));
      expect(out.manifest!.sha256).toBe(sha(out.stored));
      expect(out.result.stderr).toMatch(new RegExp(`cloud: stored s3://\\S+/app/${out.archive!.replace(/\./g, '\\.')}, resumed [1-9]\\d* time\\(s\\) after transient failures`));
    }

    it('a connection reset in the middle of a part: exit 0, the object is the archive byte for byte, and the log says it resumed', async () => {
      const out = await push(async () => { fx.proxy.dropAfter(7 * MiB); });
      expectComplete(out);
      expect(out.result.stderr).toMatch(/part \d+: cannot reach .*\(ECONNRESET|EPIPE\).*resuming in/);
    }, 120_000);

    it('parts answered 429 with Retry-After: exit 0, the archive is complete, and each retry waited what the server asked', async () => {
      const out = await push(async () => { fx.proxy.failHttp(2, 429, { match: isPart, retryAfter: 1 }); });
      expectComplete(out);
      expect(out.result.stderr.match(/\[RATE_LIMIT\].*part \d+.*resuming in 1\.0 s/g)).toHaveLength(2);
    }, 120_000);

    it('parts answered 503: exit 0 and the archive is complete', async () => {
      const out = await push(async (run) => {
        fx.proxy.failHttp(3, 503, { match: isPart });
        await waitFor(() => (run.stderr().match(/HTTP 503/g) ?? []).length >= 1, { what: 'a part answered 503 to be retried', timeout: 60_000 });
      });
      expectComplete(out);
    }, 120_000);

    it('a refused-connection outage in the middle of the upload: the run waits it out, exits 0, and the archive is complete', async () => {
      const out = await push(async (run) => {
        await waitFor(() => fx.proxy.stats.bytesUp > 4 * MiB, { what: 'the upload to be under way', timeout: 60_000 });
        await fx.proxy.refuse();
        await waitFor(() => (run.stderr().match(/ECONNREFUSED/g) ?? []).length >= 2, { what: 'two refused attempts', timeout: 60_000 });
        await fx.proxy.heal();
      });
      expectComplete(out);
    }, 120_000);
  });
}

describeFaultyPush('s3rver', async () => {
  const s3 = await startS3rver();
  return {
    port: s3.port,
    credentials: S3RVER_CREDENTIALS,
    async freshBucket() {
      const bucket = `ferry-${randomBytes(4).toString('hex')}`;
      await createBucket(s3.endpoint, bucket);
      return bucket;
    },
    stop: () => s3.stop(),
  };
});

describeFaultyPush('Ceph RGW', async () => {
  const rgw = await startCephRgw();
  return { port: rgw.port, credentials: rgw.credentials, freshBucket: () => createRgwBucket(rgw), stop: () => rgw.stop() };
});
