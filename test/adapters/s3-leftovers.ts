import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Adapter } from '../../adapters/s3/adapter.js';
import { MIN_PART_SIZE } from '../../adapters/s3/part-size.js';
import { probeTarget } from '../../src/cli/commands/check.js';
import { applyPrune, type TargetPlan } from '../../src/retention/prune.js';
import { bufferBody } from '../../src/storage/body.js';
import { withContract } from '../../src/storage/wrappers/contract.js';
import { recordingLogger } from '../helpers/log.js';

/** A server that keeps multipart uploads and object versions the way S3 bills them. */
export interface LeftoverServer {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  freshBucket(): Promise<string>;
  client(): S3Client;
}

const DAY = 24 * 3600 * 1000;
const planDeleting = (...names: string[]): TargetPlan => ({
  decisions: names.map((name) => ({ name, created: new Date(0), complete: true, action: 'delete', reasons: ['beyond every keep rule'] })),
  orphanManifests: [],
});

/**
 * What a user relies on to pay only for the archives Ferry keeps: prune
 * aborts the multipart uploads killed runs left (this job's, older than a
 * day), and on a versioned bucket nothing Ferry deletes stays behind as an
 * old version or delete marker.
 */
export function testS3Leftovers(label: string, setup: () => Promise<LeftoverServer>): void {
  describe(`${label}: nothing stays billed in the dark`, () => {
    async function fixture() {
      const server = await setup();
      const bucket = await server.freshBucket();
      const log = recordingLogger();
      const adapter = new S3Adapter('cloud', {
        bucket, prefix: 'mss/', region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true,
        credentials: server.credentials, partSize: MIN_PART_SIZE, queueSize: 1, log,
      });
      return { server, bucket, log, adapter, client: server.client() };
    }

    it('prune aborts the multipart upload a killed run left, once it is older than 24 h, and only this job\'s under this prefix', async () => {
      const { bucket, adapter, client } = await fixture();
      const keys = ['mss/mss-20260101T000000Z.tar.gz', 'mss/mss-20260101T000000Z.tar.gz.manifest.json', 'mss/other-20260101T000000Z.tar.gz', 'elsewhere/mss-20260101T000000Z.tar.gz', 'mss/notes.txt'];
      for (const Key of keys) await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
      const open = async () => ((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key).sort();
      const target = withContract(adapter);
      try {
        const young = await applyPrune(target, 'mss', planDeleting(), {});
        expect(young.abortedUploads).toEqual([]);
        expect(await open()).toEqual([...keys].sort());
        const dry = await applyPrune(target, 'mss', planDeleting(), { now: new Date(Date.now() + DAY + 60_000), dryRun: true });
        expect(dry.abortedUploads.sort()).toEqual(['mss-20260101T000000Z.tar.gz', 'mss-20260101T000000Z.tar.gz.manifest.json']);
        expect(await open()).toEqual([...keys].sort());
        const old = await applyPrune(target, 'mss', planDeleting(), { now: new Date(Date.now() + DAY + 60_000) });
        expect(old.abortedUploads.sort()).toEqual(['mss-20260101T000000Z.tar.gz', 'mss-20260101T000000Z.tar.gz.manifest.json']);
        expect(old.warnings).toEqual([]);
        expect(await open()).toEqual(['elsewhere/mss-20260101T000000Z.tar.gz', 'mss/notes.txt', 'mss/other-20260101T000000Z.tar.gz']);
      } finally {
        client.destroy();
        await adapter.close();
      }
    });

    it('on a versioned bucket, prune removes every version and delete marker of the archives it deletes, and check leaves no version of its probe', async () => {
      const { bucket, adapter, client } = await fixture();
      await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      const target = withContract(adapter);
      try {
        const old = 'mss-20260101T000000Z.tar.gz';
        const kept = 'mss-20260102T000000Z.tar.gz';
        for (const k of [old, `${old}.manifest.json`, kept, `${kept}.manifest.json`]) await target.put(k, bufferBody(`bytes of ${k}`));
        const result = await applyPrune(target, 'mss', planDeleting(old), {});
        expect(result.deleted).toEqual([old]);
        const report = await probeTarget({ name: 'cloud', config: { type: 's3', keep: 1 } as never, adapter: target });
        expect(report.error).toBeUndefined();
        expect(report.details).toContain('versioning is on: prune and check delete every version of what they remove');
        const versions = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
        const left = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => v.Key).sort();
        expect(left).toEqual([`mss/${kept}`, `mss/${kept}.manifest.json`]);
      } finally {
        client.destroy();
        await adapter.close();
      }
    });
  });
}
