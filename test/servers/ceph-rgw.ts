import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { closedPort } from '../conformance/suite.js';
import { waitFor } from '../helpers/wait.js';

/** The binaries a throwaway cluster needs (Debian packages `ceph-mon`, `ceph-osd`, `radosgw`, `ceph-common`). */
const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'ceph-authtool', 'monmaptool'];

export interface RgwHandle {
  /** `http://127.0.0.1:<port>`; use path-style requests. */
  endpoint: string;
  port: number;
  /** The keys of the S3 user created for the tests. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Creates another S3 user (`uid`) with random keys, e.g. one that a bucket policy restricts. */
  addUser(uid: string): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  /** How long the cluster took to come up, in milliseconds (for the log of slow CI runs). */
  startupMs: number;
  /** Stops the gateway, the OSD and the monitor by PID and removes the cluster's directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a single-node Ceph cluster with a RADOS Gateway on loopback: one
 * monitor and one OSD on `memstore` (no disk image), cephx with one keyring,
 * pools of size 1, short Paxos intervals (they dominate startup otherwise),
 * and radosgw's beast frontend on a free port. Startup takes about 8 s. A user with
 * random keys is created with radosgw-admin. Everything lives in a fresh temp
 * directory; nothing outside it is touched.
 *
 * Ceph 16 (Debian bookworm) has no standalone "dbstore" backend for radosgw,
 * so a real (if tiny) RADOS cluster is the only way to run it. Throws naming
 * the missing binaries when the packages are not installed; test/run.sh
 * installs them.
 */
export async function startCephRgw(): Promise<RgwHandle> {
  const missing = BINARIES.filter((b) => !['/usr/bin', '/usr/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, b))));
  if (missing.length > 0) {
    throw new Error(`Ceph RGW tests need ${missing.join(', ')} (apt-get install radosgw ceph-mon ceph-osd ceph-common; test/run.sh does it)`);
  }
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ceph-'));
  const [monPort, rgwPort] = [await closedPort(), await closedPort()];
  const conf = join(dir, 'ceph.conf');
  const keyring = join(dir, 'keyring');
  const children: ChildProcess[] = [];
  const stop = stopper(children, dir);
  try {
    await mkdir(join(dir, 'mon'));
    await mkdir(join(dir, 'osd'));
    await writeFile(conf, cephConf(dir, randomUUID(), monPort, rgwPort));
    await run('ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('ceph-authtool', [keyring, '--gen-key', '-n', 'client.admin', '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *']);
    await run('ceph-authtool', [keyring, '--gen-key', '-n', 'osd.0', '--cap', 'mon', 'allow profile osd', '--cap', 'osd', 'allow *']);
    await run('ceph-authtool', [keyring, '--gen-key', '-n', 'client.rgw', '--cap', 'mon', 'allow rw', '--cap', 'osd', 'allow rwx']);
    const fsid = /fsid = (\S+)/.exec(await readFile(conf, 'utf8'))![1]!;
    await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', keyring]);
    children.push(daemon('ceph-mon', ['-c', conf, '-f', '-i', 'a']));
    // Pools are left to radosgw: created one by one as it needs them, they peer faster than a batch made up front.
    await run('ceph', ['-c', conf, '--connect-timeout', '30', 'osd', 'create']);
    await run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs']);
    children.push(daemon('ceph-osd', ['-c', conf, '-f', '-i', '0']));
    children.push(daemon('radosgw', ['-c', conf, '-f', '-n', 'client.rgw']));
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor(async () => {
      for (const c of children) if (c.exitCode !== null) throw new Error(`${String(c.spawnargs[0])} exited with ${c.exitCode}; see ${dir}`);
      return fetch(endpoint).then((r) => r.ok, () => false);
    }, { what: 'radosgw to answer', timeout: 120_000, interval: 100 });
    const addUser = async (uid: string) => {
      const keys = { accessKeyId: `FERRY${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(20).toString('hex') };
      await run('radosgw-admin', ['-c', conf, '-n', 'client.admin', 'user', 'create', '--uid', uid, '--display-name', uid,
        '--access-key', keys.accessKeyId, '--secret-key', keys.secretAccessKey]);
      return keys;
    };
    const credentials = await addUser('ferry');
    return { endpoint, port: rgwPort, credentials, addUser, startupMs: Date.now() - started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A client for the gateway (path style, no optional checksums). */
export function rgwClient(rgw: RgwHandle): S3Client {
  return new S3Client({
    endpoint: rgw.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: rgw.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates a bucket with a fresh name on the gateway and returns the name. */
export async function createRgwBucket(rgw: RgwHandle): Promise<string> {
  const bucket = `ferry-${randomBytes(4).toString('hex')}`;
  const client = rgwClient(rgw);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
keyring = ${dir}/keyring
mon data = ${dir}/mon
osd data = ${dir}/osd
run dir = ${dir}
log file = ${dir}/$name.log
admin socket = ${dir}/$name.asok
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
paxos propose interval = 0.05
paxos min wait = 0.01
mon data avail warn = 1
mon data avail crit = 0
auth allow insecure global id reclaim = false
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw enable usage log = false
rgw lc debug interval = -1
`;
}

function daemon(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  child.on('error', () => {});
  return child;
}

/** Runs a setup command to completion; rejects with its output when it fails or hangs for 60 s. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

/**
 * Kills the daemons newest first (gateway, OSD, monitor), each by PID, then
 * removes the directory. SIGKILL: the cluster is thrown away, and a clean
 * shutdown would only spend seconds saving the memstore.
 */
function stopper(children: ChildProcess[], dir: string): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => (stopped ??= (async () => {
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  })());
}
