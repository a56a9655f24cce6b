import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** The key pair s3rver's built-in account accepts. It checks the key id, not the signature. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`; use path-style requests. */
  endpoint: string;
  port: number;
  pid: number;
  /** Kills the server by PID and removes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver 3.7.1 as a child process on a free loopback port (the kernel
 * picks it: `-p 0`), storing data in a fresh temp directory.
 *
 * It runs under `node --openssl-legacy-provider` because its ListObjectsV2
 * continuation tokens use DES; without the flag every paginated listing
 * answers 500. s3rver does not verify signatures and does not implement
 * AbortMultipartUpload (405), so tests must not rely on either.
 */
export async function startS3rver(): Promise<S3rverHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-s3rver-'));
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', join(dir, 'data'), '-a', '127.0.0.1', '-p', '0', '--silent', '--no-vhost-buckets'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('s3rver did not start within 20 s')), 20_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n${output}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /S3rver listening on [^\s:]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', fail);
    child.once('exit', (code, sig) => fail(new Error(`s3rver exited early (code ${code}, signal ${sig})`)));
  });
  child.removeAllListeners('exit');
  // Keep draining its output so a chatty server never blocks on a full pipe.
  child.stdout.resume();
  child.stderr.resume();

  const pid = child.pid!;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }, 3_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  return { endpoint: `http://127.0.0.1:${port}`, port, pid, stop };
}

/** A client configured the way s3rver needs (path style, no optional checksums). */
export function s3rverClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates `bucket` on the server at `endpoint`. */
export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = s3rverClient(endpoint);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
