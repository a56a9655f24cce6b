// Push benchmark: the same archive to the same loopback servers, by Ferry and
// by the reference tools. Run with `npm run bench:push` (it builds first).
// A benchmark, not a test: it prints MB/s and ratios and asserts nothing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import s3 from '../adapters/s3/index.js';
import sftp from '../adapters/sftp/index.js';
import { silentLogger } from '../src/log.js';
import { fileBody } from '../src/storage/body.js';
import { createBucket, S3RVER_CREDENTIALS, startS3rver } from '../test/servers/s3rver.js';
import { startSshd } from '../test/servers/sshd.js';

const MB = 1024 * 1024;
const FERRY = resolve(import.meta.dirname, '..', 'dist', 'src', 'cli', 'ferry.js');
const sizeMb = Number(process.argv[2] ?? 256);
const work = await mkdtemp(join(tmpdir(), 'ferry-push-bench-'));
const archive = join(work, 'bench-20260101T000000Z.tar.gz');
await writeFile(archive, randomBytes(sizeMb * MB)); // an archive is incompressible: random bytes stand in for one
const size = (await stat(archive)).size;
await mkdir(join(work, 'data'));
await writeFile(join(work, 'data', 'payload.bin'), randomBytes(sizeMb * MB));

const sshd = await startSshd();
const s3rver = await startS3rver();
await createBucket(s3rver.endpoint, 'bench');
const results: Record<string, number> = {};

async function time(label: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  const t = process.hrtime.bigint();
  await fn();
  results[label] = Number(process.hrtime.bigint() - t) / 1e9;
  process.stderr.write(`  ${label.padEnd(34)} ${results[label]!.toFixed(2)} s  ${(size / MB / results[label]!).toFixed(0)} MB/s\n`);
}

const ssh = ['-i', sshd.privateKeyFile, '-o', `UserKnownHostsFile=${sshd.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
try {
  process.stderr.write(`push benchmark: ${sizeMb} MB archive to loopback sshd and s3rver\n`);
  const target = await sftp.create('sftp', { host: sshd.host, port: sshd.port, user: sshd.user, path: join(sshd.dataDir, 'ferry'), private_key: sshd.privateKey, known_hosts: sshd.knownHostsFile } as never, { configDir: work, log: silentLogger });
  await time('ferry sftp put', () => target.put('a.tar.gz', fileBody(archive, size)));
  await target.close?.();
  await writeFile(join(work, 'sftp.yaml'), stringify({
    job: 'bench', state_dir: join(work, 'state'), sources: [{ path: join(work, 'data'), as: 'data' }], compression: { level: 1 },
    targets: { sftp: { type: 'sftp', host: sshd.host, port: sshd.port, user: sshd.user, path: join(sshd.dataDir, 'run'), private_key_file: sshd.privateKeyFile, known_hosts: sshd.knownHostsFile, keep: 3 } },
  }));
  await time('ferry run -> sftp (builds too)', () => execFileSync(process.execPath, [FERRY, '-q', '-c', join(work, 'sftp.yaml'), 'run'], { stdio: 'ignore' }));
  execFileSync('mkdir', ['-p', join(sshd.dataDir, 'ref')]);
  await time('sftp -b (OpenSSH)', () => execFileSync('sftp', [...ssh, '-P', String(sshd.port), '-b', '-', `root@127.0.0.1`], { input: `put ${archive} ${join(sshd.dataDir, 'ref', 'b.tar.gz')}\n` }));
  await time('scp (OpenSSH)', () => execFileSync('scp', [...ssh, '-P', String(sshd.port), archive, `root@127.0.0.1:${join(sshd.dataDir, 'ref', 'c.tar.gz')}`]));
  await time('rclone copy (sftp)', () => execFileSync('rclone', ['copyto', archive, `:sftp:${join(sshd.dataDir, 'ref', 'd.tar.gz')}`,
    '--sftp-host', '127.0.0.1', '--sftp-port', String(sshd.port), '--sftp-user', 'root', '--sftp-key-file', sshd.privateKeyFile, '--sftp-known-hosts-file', sshd.knownHostsFile], { stdio: 'ignore' }));

  const bucket = await s3.create('s3', { bucket: 'bench', prefix: '', region: 'us-east-1', endpoint: s3rver.endpoint, access_key_id: S3RVER_CREDENTIALS.accessKeyId, secret_access_key: S3RVER_CREDENTIALS.secretAccessKey, part_size: 16 * MB, queue_size: 2 } as never, { configDir: work, log: silentLogger });
  await time('ferry s3 put (s3rver)', () => bucket.put('a.tar.gz', fileBody(archive, size)));
  await time('rclone copy (s3rver)', () => execFileSync('rclone', ['copyto', archive, ':s3:bench/r.tar.gz', '--s3-provider', 'Other', '--s3-endpoint', s3rver.endpoint,
    '--s3-access-key-id', S3RVER_CREDENTIALS.accessKeyId, '--s3-secret-access-key', S3RVER_CREDENTIALS.secretAccessKey, '--s3-force-path-style'],
    { env: { ...process.env, AWS_CA_BUNDLE: undefined } })); // rclone refuses a custom CA bundle with a plain-HTTP endpoint
  await bucket.close?.();

  const r = (a: string, b: string) => (results[a]! / results[b]!).toFixed(2);
  console.log(`push of a ${sizeMb} MB archive (ratios: ferry time / reference time; below 1 means ferry is faster)`);
  console.log(`  ferry sftp / sftp -b        ${r('ferry sftp put', 'sftp -b (OpenSSH)')}`);
  console.log(`  ferry sftp / scp            ${r('ferry sftp put', 'scp (OpenSSH)')}`);
  console.log(`  ferry sftp / rclone (sftp)  ${r('ferry sftp put', 'rclone copy (sftp)')}`);
  console.log(`  ferry run -> sftp / scp     ${r('ferry run -> sftp (builds too)', 'scp (OpenSSH)')}   (ferry run also tars, gzips -1 and hashes the data)`);
  console.log(`  ferry s3   / rclone (s3)    ${r('ferry s3 put (s3rver)', 'rclone copy (s3rver)')}`);
  console.log(`  ferry s3 upload: ${(size / MB / results['ferry s3 put (s3rver)']!).toFixed(0)} MB/s to s3rver (a JavaScript server on the same 2 cores)`);
} finally {
  await sshd.dispose();
  await s3rver.stop();
  await rm(work, { recursive: true, force: true });
}
