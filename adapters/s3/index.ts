import { z } from 'zod';
import { secret } from '../../src/config/secret.js';
import { defineAdapter } from '../../src/storage/definition.js';
import { StorageError } from '../../src/storage/errors.js';
import { DEFAULT_RETRY_WINDOW_SECONDS } from './request-retry.js';
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, MAX_PART_SIZE, MIN_PART_SIZE } from './part-size.js';

export const s3Options = {
  /** Bucket that holds the archives. It must exist; Ferry never creates buckets. */
  bucket: z.string().min(1).describe('Bucket that holds the archives (must exist)'),
  /**
   * Prepended verbatim to every object name (`prefix + archive`). Include the
   * trailing slash for a folder-like layout: `mss/`.
   */
  prefix: z.string().default('').describe('Prepended verbatim to every object name, e.g. "mss/"'),
  /** Region used for signing. */
  region: z.string().min(1).default('us-east-1').describe('Region used for request signing'),
  /** S3-compatible endpoint URL (MinIO, R2, B2, Wasabi, ...). Leave out for AWS. */
  endpoint: z.string().url().optional().describe('S3-compatible endpoint URL; leave out for AWS'),
  /** Path-style requests (`endpoint/bucket/key`). Defaults to true when `endpoint` is set, false for AWS. */
  force_path_style: z.boolean().optional().describe('Use path-style URLs; default true when endpoint is set'),
  /** Access key ID. Without explicit keys the SDK's default credential chain is used (env, profile, instance role). */
  access_key_id: z.string().min(1).optional().describe('Access key ID; omit to use the default AWS credential chain'),
  ...secret('secret_access_key', 'Secret access key that goes with access_key_id'),
  /**
   * Storage class of new objects (`STANDARD`, `STANDARD_IA`, ...). Classes
   * that need a restore before reading (GLACIER, DEEP_ARCHIVE) make
   * `ferry restore` and `ferry verify` fail until the object is restored.
   */
  storage_class: z.string().min(1).optional().describe('Storage class of new objects, e.g. STANDARD_IA'),
  /**
   * Minimum multipart part size in bytes (5 MiB–5 GiB, default 16 MiB).
   * Ferry raises it when needed so an archive fits in 10,000 parts, and uses
   * 128 MiB when the archive size is not known up front (room for ~1.3 TB).
   */
  part_size: z
    .number()
    .int()
    .min(MIN_PART_SIZE)
    .max(MAX_PART_SIZE)
    .default(DEFAULT_PART_SIZE)
    .describe('Minimum multipart part size in bytes; raised automatically for large archives'),
  /**
   * Parts uploaded in parallel. Memory held per upload is about
   * part size × (queue_size + 1), since each part is buffered in memory.
   */
  queue_size: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(DEFAULT_QUEUE_SIZE)
    .describe('Parts uploaded in parallel; memory is about part size x (queue_size + 1)'),
  /**
   * Seconds one request of an upload (a part, the commit) keeps being
   * retried, with backoff that honours `Retry-After`, when the connection is
   * refused or reset or the server answers 5xx or 429 (default 300). The
   * part is resent from memory; the multipart upload is only abandoned when
   * this runs out or the run is aborted.
   */
  retry_window: z
    .number()
    .int()
    .min(0)
    .max(86_400)
    .default(DEFAULT_RETRY_WINDOW_SECONDS)
    .describe('Seconds one part (or the commit) is retried through an outage before the upload is abandoned'),
};

export default defineAdapter({
  type: 's3',
  options: s3Options,
  location: (options) => `s3 ${endpointOf(options.endpoint)} bucket ${options.bucket} prefix ${JSON.stringify(options.prefix)}`,
  async create(name, options, context) {
    const keyId = options.access_key_id;
    const secretKey = options.secret_access_key;
    if ((keyId === undefined) !== (secretKey === undefined)) {
      throw new StorageError('CONFIG', name, 'set both access_key_id and secret_access_key (or neither, to use the default AWS credential chain)');
    }
    const { S3Adapter } = await import('./adapter.js');
    return new S3Adapter(name, {
      bucket: options.bucket,
      prefix: options.prefix,
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.force_path_style ?? options.endpoint !== undefined,
      credentials: keyId !== undefined && secretKey !== undefined ? { accessKeyId: keyId, secretAccessKey: secretKey } : undefined,
      storageClass: options.storage_class,
      partSize: options.part_size,
      queueSize: options.queue_size,
      retryWindowMs: options.retry_window * 1000,
      log: context.log,
    });
  },
});

/** The endpoint as a comparable string: scheme, lower-case host and port (AWS when unset), no trailing slash. */
function endpointOf(endpoint: string | undefined): string {
  if (endpoint === undefined) return 'AWS';
  try {
    const u = new URL(endpoint);
    const port = u.port || (u.protocol === 'http:' ? '80' : '443');
    return `${u.protocol}//${u.hostname.toLowerCase()}:${port}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return endpoint;
  }
}
