import { randomBytes } from 'node:crypto';
import { PutBucketPolicyCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { S3Adapter } from '../../adapters/s3/adapter.js';
import { MIN_PART_SIZE } from '../../adapters/s3/part-size.js';
import { closedPort, testAdapterConformance } from '../conformance/suite.js';
import { createRgwBucket, rgwClient, startCephRgw, type RgwHandle } from '../servers/ceph-rgw.js';
import { testS3Leftovers } from './s3-leftovers.js';
import { probeTarget } from '../../src/cli/commands/check.js';
import { applyPrune } from '../../src/retention/prune.js';
import { bufferBody } from '../../src/storage/body.js';
import { withContract } from '../../src/storage/wrappers/contract.js';
import { recordingLogger } from '../helpers/log.js';
import { testS3FaultRecovery } from './s3-fault-cases.js';

// The same contract and fault cases as against s3rver, against Ceph's RADOS Gateway: a production S3
// implementation that checks signatures, aborts multipart uploads and honours If-None-Match.

let server: Promise<RgwHandle> | undefined;
/** One cluster for the whole file, started on first use. */
const rgw = () => (server ??= startCephRgw());
afterAll(async () => { await (await server)?.stop(); }, 60_000);

const SECRET = `very-secret-${randomBytes(8).toString('hex')}`;
testAdapterConformance('s3 (Ceph RGW)', async () => {
  const handle = await rgw();
  return {
    adapter: new S3Adapter('cloud', {
      bucket: await createRgwBucket(handle), prefix: 'mss/', region: 'us-east-1', endpoint: handle.endpoint, forcePathStyle: true,
      credentials: handle.credentials, partSize: MIN_PART_SIZE, queueSize: 2,
    }),
    unreachable: async () => new S3Adapter('offsite', {
      bucket: 'bucket', prefix: '', region: 'us-east-1', endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true,
      credentials: { accessKeyId: handle.credentials.accessKeyId, secretAccessKey: SECRET }, partSize: MIN_PART_SIZE, queueSize: 1,
      maxAttempts: 1, retryWindowMs: 0,
    }),
    secret: SECRET,
  };
});

testS3FaultRecovery('s3 (Ceph RGW)', async () => {
  const handle = await rgw();
  return { port: handle.port, credentials: handle.credentials, freshBucket: () => createRgwBucket(handle) };
});

testS3Leftovers('s3 (Ceph RGW)', async () => {
  const handle = await rgw();
  return { endpoint: handle.endpoint, credentials: handle.credentials, freshBucket: () => createRgwBucket(handle), client: () => rgwClient(handle) };
});

describe('s3 (Ceph RGW): credentials that cannot delete old versions', () => {
  it('check prints a plain WARNING and prune still deletes the archive but warns that its versions stay billed', async () => {
    const handle = await rgw();
    const bucket = await createRgwBucket(handle);
    const limited = await handle.addUser('limited');
    const owner = rgwClient(handle);
    await owner.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await owner.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ['arn:aws:iam:::user/limited'] }, Action: ['s3:*'], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] },
        { Effect: 'Deny', Principal: { AWS: ['arn:aws:iam:::user/limited'] }, Action: ['s3:ListBucketVersions', 's3:DeleteObjectVersion'], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] },
      ],
    }) }));
    owner.destroy();
    const log = recordingLogger();
    const adapter = withContract(new S3Adapter('cloud', {
      bucket, prefix: 'mss/', region: 'us-east-1', endpoint: handle.endpoint, forcePathStyle: true,
      credentials: limited, partSize: MIN_PART_SIZE, queueSize: 1, log,
    }));
    try {
      const report = await probeTarget({ name: 'cloud', config: { type: 's3', keep: 1 } as never, adapter });
      expect(report.details.filter((l) => l.startsWith('WARNING: '))).toEqual([
        `WARNING: bucket "${bucket}" keeps old versions of deleted objects and these credentials cannot list or delete them (s3:ListBucketVersions, s3:DeleteObjectVersion): archives that prune deletes stay stored, and billed, as old versions until a lifecycle rule or a key with those permissions removes them`,
      ]);
      const archive = 'mss-20260101T000000Z.tar.gz';
      await adapter.put(archive, bufferBody('old archive'));
      const result = await applyPrune(adapter, 'mss', { decisions: [{ name: archive, created: new Date(0), complete: true, action: 'delete', reasons: ['beyond every keep rule'] }], orphanManifests: [] });
      expect(result.deleted).toEqual([archive]);
      expect(result.errors).toEqual([]);
      expect(log.lines.filter((l) => l.includes('stay stored, and billed, as old versions'))).toHaveLength(1);
    } finally {
      await adapter.close?.();
    }
  });
});
