import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/**
 * What S3 keeps and bills beyond the objects `list` shows: the parts of
 * multipart uploads that never completed, and on a versioned bucket the old
 * versions and delete markers of removed objects.
 */

export interface MultipartUpload { key: string; id: string; started: Date }

/** True for the answers of a server that does not implement a request (405, 501, NotImplemented). */
export function isUnsupported(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  return status === 405 || status === 501 || e?.name === 'NotImplemented' || e?.name === 'MethodNotAllowed';
}

/**
 * Every multipart upload in progress whose key starts with `keyPrefix`,
 * paging with the key and upload-id markers. Resolves undefined when the
 * server does not implement ListMultipartUploads; other errors reject.
 */
export async function listMultipartUploads(client: S3Client, bucket: string, keyPrefix: string, signal?: AbortSignal): Promise<MultipartUpload[] | undefined> {
  const out: MultipartUpload[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  try {
    for (;;) {
      const res = await client.send(new ListMultipartUploadsCommand({
        Bucket: bucket, Prefix: keyPrefix, KeyMarker: keyMarker, UploadIdMarker: idMarker,
      }), { abortSignal: signal });
      for (const u of res.Uploads ?? []) {
        if (u.Key && u.UploadId) out.push({ key: u.Key, id: u.UploadId, started: u.Initiated ?? new Date(0) });
      }
      if (!res.IsTruncated || (!res.NextKeyMarker && !res.NextUploadIdMarker)) return out;
      keyMarker = res.NextKeyMarker;
      idMarker = res.NextUploadIdMarker;
    }
  } catch (err) {
    if (isUnsupported(err)) return undefined;
    throw err;
  }
}

/** Whether the bucket keeps versions: `unknown` when these credentials may not ask, `off` when the server has no versioning. */
export async function bucketVersioning(client: S3Client, bucket: string, signal?: AbortSignal): Promise<'on' | 'off' | 'unknown'> {
  try {
    const res = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }), { abortSignal: signal });
    return res.Status === 'Enabled' || res.Status === 'Suspended' ? 'on' : 'off';
  } catch (err) {
    if (signal?.aborted) throw err;
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return status === 401 || status === 403 ? 'unknown' : 'off';
  }
}

/**
 * Deletes every version and delete marker of exactly `objectKey` (a versioned
 * bucket keeps them after a plain delete). Resolves with how many were
 * deleted; rejects with the SDK error when listing or deleting is refused.
 */
export async function purgeVersions(client: S3Client, bucket: string, objectKey: string, signal?: AbortSignal): Promise<number> {
  let deleted = 0;
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (;;) {
    const res = await client.send(new ListObjectVersionsCommand({
      Bucket: bucket, Prefix: objectKey, KeyMarker: keyMarker, VersionIdMarker: idMarker,
    }), { abortSignal: signal });
    const entries = [...(res.Versions ?? []), ...(res.DeleteMarkers ?? [])];
    for (const v of entries) {
      if (v.Key !== objectKey || !v.VersionId) continue;
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey, VersionId: v.VersionId }), { abortSignal: signal });
      deleted++;
    }
    if (!res.IsTruncated) return deleted;
    keyMarker = res.NextKeyMarker;
    idMarker = res.NextVersionIdMarker;
  }
}

/**
 * `ferry check`'s lines about versioning: nothing when the bucket keeps no
 * versions, else whether these credentials can delete them (a plain warning
 * when they cannot). Rejects with the SDK error on other failures.
 */
export async function versioningReport(client: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const versioning = await bucketVersioning(client, bucket, signal);
  if (versioning === 'off') return [];
  try {
    await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }), { abortSignal: signal });
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 401 || status === 403) return [`WARNING: ${versionsAdvice(bucket)}`];
    throw err;
  }
  return [versioning === 'on'
    ? 'versioning is on: prune and check delete every version of what they remove'
    : 'these credentials may not read the bucket\'s versioning setting; prune deletes old versions where it finds them'];
}

/** What a user must know when the bucket may keep versions these credentials cannot delete. */
export function versionsAdvice(bucket: string): string {
  return `bucket "${bucket}" keeps old versions of deleted objects and these credentials cannot list or delete them `
    + '(s3:ListBucketVersions, s3:DeleteObjectVersion): archives that prune deletes stay stored, and billed, as old versions '
    + 'until a lifecycle rule or a key with those permissions removes them';
}
