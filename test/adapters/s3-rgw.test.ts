import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { S3Adapter } from '../../adapters/s3/adapter.js';
import { MIN_PART_SIZE } from '../../adapters/s3/part-size.js';
import { closedPort, testAdapterConformance } from '../conformance/suite.js';
import { createRgwBucket, rgwClient, startCephRgw, type RgwHandle } from '../servers/ceph-rgw.js';
import { testS3Leftovers } from './s3-leftovers.js';
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
