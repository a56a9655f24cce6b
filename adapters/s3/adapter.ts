import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import type { Capabilities, ObjectInfo, OpOptions, PutBody, StorageAdapter, UnfinishedUpload } from '../../src/storage/adapter.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { abortedError, isStorageError, StorageError } from '../../src/storage/errors.js';
import { displayEndpoint, fromS3Error, scrub } from './errors.js';
import { bucketVersioning, listMultipartUploads, purgeVersions, versioningReport, versionsAdvice } from './leftovers.js';
import { choosePartSize } from './part-size.js';
import { DEFAULT_RETRY_WINDOW_SECONDS, UploadRetries } from './request-retry.js';
import { CountingStream, scopedClient } from './upload.js';

/** How long the clean-up delete after a failed put may take. */
const DISCARD_TIMEOUT_MS = 10_000;

export interface S3Settings {
  bucket: string;
  /** Prepended verbatim to every key. */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Static keys; when absent the SDK's default credential chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  storageClass?: string;
  /** Minimum part size in bytes; see `choosePartSize`. */
  partSize: number;
  /** Parts uploaded in parallel. Memory per upload ≈ part size × (queueSize + 1). */
  queueSize: number;
  /** Keys per ListObjectsV2 page (1–1000). Internal: tests lower it to force several pages. */
  listPageSize?: number;
  /** SDK attempts per request, including the first (default 3). */
  maxAttempts?: number;
  /** How long one request of an upload (a part, the commit) is retried through an outage; default 300 s. */
  retryWindowMs?: number;
  /** Where retries and resumed uploads are reported. */
  log?: Logger;
}

/**
 * Archives as objects in one bucket under `prefix`.
 *
 * Every put goes through lib-storage's `Upload`: one PutObject for a body that
 * fits in one part, otherwise a multipart upload of bounded memory. S3 only
 * shows an object once its PutObject or CompleteMultipartUpload succeeds, so
 * an aborted or failed put never leaves a complete-looking object; when it
 * fails after such a request was sent, the key is deleted (best effort) in
 * case the server committed it anyway. A put never replaces an object: the
 * commit carries `If-None-Match: *` and is preceded by a HEAD of the key, and
 * either finding the key makes the put reject with EXISTS.
 */
export class S3Adapter implements StorageAdapter {
  readonly capabilities: Capabilities = { streamingPut: true, maxConcurrency: 4 };
  private readonly client: S3Client;
  private readonly uploadClient: S3Client;
  private readonly endpointLabel: string;
  private readonly secrets: string[];
  private readonly log: Logger;
  private versioning: Promise<boolean> | undefined;
  private warnedVersions = false;

  constructor(readonly name: string, private readonly settings: S3Settings) {
    // Ferry supports Node 20, and the pinned SDK works there; its notice about future SDK releases would only
    // add a multi-line warning to every run's log.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const config = {
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 15_000 },
    } as const;
    this.client = new S3Client({ ...config, maxAttempts: settings.maxAttempts ?? 3 });
    // Upload requests are repeated by `withRequestRetry` alone, so every retry is paced, counted and logged once.
    this.uploadClient = new S3Client({ ...config, maxAttempts: 1 });
    this.endpointLabel = displayEndpoint(settings.endpoint, settings.region);
    this.secrets = settings.credentials ? [settings.credentials.secretAccessKey] : [];
    this.log = settings.log ?? silentLogger;
  }

  /**
   * Streams the body into `prefix + key`. The part size comes from
   * `body.size ?? body.sizeHint` (see `choosePartSize`). When `body.size` is
   * set, a body of any other length fails before the object completes.
   */
  async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    const objectKey = this.objectKey(key);
    const what = `uploading ${this.url(objectKey)}`;
    const { signal } = options;
    if (signal?.aborted) throw abortedError(this.name, signal);

    const counter = new CountingStream(body.size);
    let input: Readable;
    try {
      input = body.open();
    } catch (err) {
      throw new StorageError('UNKNOWN', this.name, `${what}: cannot open the upload body: ${(err as Error).message}`, { cause: err, retryable: false });
    }
    let sourceError: unknown;
    input.on('error', (err) => { sourceError ??= err; });
    counter.on('error', () => {}); // the uploader sees the same error through its reads
    pipeline(input, counter, () => {});

    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let commitSent = false;
    const retries = new UploadRetries({
      windowMs: this.settings.retryWindowMs ?? DEFAULT_RETRY_WINDOW_SECONDS * 1000,
      signal: ctrl.signal,
      log: this.log,
      convert: (err, request) => this.convert(err, `${what}: ${request}`, ctrl.signal),
    });
    const retry = <T>(request: string, send: () => Promise<T>) => retries.run(request, send);
    const upload = new Upload({
      client: scopedClient(this.uploadClient, {
        signal: ctrl.signal,
        beforeCommit: () => retry('checking the key is free', () => this.refuseExisting(objectKey, ctrl.signal)),
        onCommit: () => { commitSent = true; },
        retry,
        landed: (etag) => this.holds(objectKey, etag),
        abortFailed: (err) => this.log.warn(
          `${this.convert(err, `abandoning the multipart upload of ${this.url(objectKey)}`).message}; its parts stay stored until a prune of this target removes them`),
      }),
      params: {
        Bucket: this.settings.bucket,
        Key: objectKey,
        Body: counter,
        StorageClass: this.settings.storageClass as StorageClass | undefined,
      },
      partSize: choosePartSize(body.size ?? body.sizeHint, this.settings.partSize),
      queueSize: this.settings.queueSize,
      leavePartsOnError: false,
      abortController: ctrl,
    });
    try {
      await upload.done();
      if (retries.retried > 0) this.log.info(`${this.name}: stored ${this.url(objectKey)}, resumed ${retries.retried} time(s) after transient failures`);
      return counter.bytes;
    } catch (err) {
      // Read before tearing down: destroying the streams makes the source report an error too.
      const bad = counter.lengthError ?? sourceError;
      ctrl.abort();
      counter.destroy();
      input.destroy();
      // Cancelled requests settle at once; once they have, nothing of this put is left on the wire.
      await retries.settled();
      const exists = isStorageError(err, 'EXISTS') || isStorageError(this.convert(err, what), 'EXISTS');
      // The key belongs to someone else when the commit was refused: never delete it.
      if (commitSent && !exists) await this.discard(objectKey);
      if (signal?.aborted) throw abortedError(this.name, signal);
      if (exists) throw this.existsError(objectKey, err);
      if (bad) {
        const code = counter.lengthError ? 'CORRUPT' : 'UNKNOWN';
        throw new StorageError(code, this.name, `${what}: the data to upload failed: ${(bad as Error).message}`, { cause: bad, retryable: false });
      }
      throw this.convert(err, what);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Opens the object as a stream. A missing key rejects with NOT_FOUND; a missing bucket with CONFIG. */
  async get(key: string, options: OpOptions = {}): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }),
        { abortSignal: options.signal },
      );
      const raw = res.Body as unknown;
      const stream = raw instanceof Readable ? raw : raw ? Readable.from(raw as AsyncIterable<Uint8Array>) : Readable.from([]);
      if (options.signal) addAbortSignal(options.signal, stream);
      return stream;
    } catch (err) {
      throw this.convert(err, `reading ${this.url(objectKey)}`, options.signal);
    }
  }

  async stat(key: string, options: OpOptions = {}): Promise<ObjectInfo> {
    const objectKey = this.objectKey(key);
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }),
        { abortSignal: options.signal },
      );
      return { key, size: res.ContentLength ?? 0, modified: res.LastModified ?? new Date(0) };
    } catch (err) {
      throw this.convert(err, `stat ${this.url(objectKey)}`, options.signal);
    }
  }

  /**
   * Pages through ListObjectsV2 with continuation tokens. Only direct
   * children of `prefix` list: keys with a further `/` after it are skipped.
   */
  async list(prefix: string, options: OpOptions = {}): Promise<ObjectInfo[]> {
    const base = this.settings.prefix;
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: base + prefix,
            MaxKeys: this.settings.listPageSize ?? 1000,
            ContinuationToken: token,
          }),
          { abortSignal: options.signal },
        );
        for (const o of res.Contents ?? []) {
          const name = o.Key?.slice(base.length);
          if (!name || name.includes('/')) continue;
          out.push({ key: name, size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.convert(err, `listing ${this.url(base + prefix)}*`, options.signal);
    }
    return out;
  }

  /**
   * Deletes the object. Idempotent: S3 answers a delete of a missing key with
   * success. On a bucket with versioning the old versions and delete markers
   * of the key are deleted too, so nothing of it stays billed; when the
   * credentials may not do that, the object is still removed and a warning
   * (once per target) says that its versions remain.
   */
  async remove(key: string, options: OpOptions = {}): Promise<void> {
    const objectKey = this.objectKey(key);
    const what = `removing ${this.url(objectKey)}`;
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }),
        { abortSignal: options.signal },
      );
    } catch (err) {
      const e = this.convert(err, what, options.signal);
      if (e.code !== 'NOT_FOUND') throw e;
    }
    if (!(await this.versioned(options.signal))) return;
    try {
      await purgeVersions(this.client, this.settings.bucket, objectKey, options.signal);
    } catch (err) {
      const e = this.convert(err, `${what}: deleting its old versions`, options.signal);
      if (e.code !== 'AUTH') throw e;
      if (!this.warnedVersions) this.log.warn(`${e.message}. ${versionsAdvice(this.settings.bucket)}`);
      this.warnedVersions = true;
    }
  }

  async listUnfinished(prefix: string, options: OpOptions = {}): Promise<UnfinishedUpload[] | undefined> {
    const base = this.settings.prefix;
    let uploads;
    try {
      uploads = await listMultipartUploads(this.client, this.settings.bucket, base + prefix, options.signal);
    } catch (err) {
      throw this.convert(err, `listing unfinished uploads under ${this.url(base + prefix)}`, options.signal);
    }
    return uploads
      ?.map((u) => ({ ...u, key: u.key.slice(base.length) }))
      .filter((u) => u.key.length > 0 && !u.key.includes('/'));
  }

  async abortUnfinished(upload: UnfinishedUpload, options: OpOptions = {}): Promise<void> {
    const objectKey = this.objectKey(upload.key);
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.settings.bucket, Key: objectKey, UploadId: upload.id }),
        { abortSignal: options.signal },
      );
    } catch (err) {
      const e = this.convert(err, `aborting the unfinished upload of ${this.url(objectKey)}`, options.signal);
      if (e.code !== 'NOT_FOUND') throw e;
    }
  }

  /**
   * Checks that the bucket exists and the credentials may use it
   * (HeadBucket), and says whether it keeps old versions and whether these
   * credentials can delete them.
   */
  async probe(options: OpOptions = {}): Promise<string[]> {
    const what = `checking bucket "${this.settings.bucket}" at ${this.endpointLabel}`;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }), { abortSignal: options.signal });
    } catch (err) {
      const e = this.convert(err, what, options.signal);
      if (e.code !== 'NOT_FOUND') throw e;
      throw new StorageError('CONFIG', this.name, `bucket "${this.settings.bucket}" does not exist at ${this.endpointLabel}`, { cause: err });
    }
    const versions = await versioningReport(this.client, this.settings.bucket, this.settings.prefix, options.signal)
      .catch((err: unknown) => { throw this.convert(err, 'listing object versions', options.signal); });
    return [`bucket ${this.url(this.settings.prefix)} at ${this.endpointLabel}`, ...versions];
  }

  /** Whether removals must also delete versions; asked once per adapter. */
  private versioned(signal?: AbortSignal): Promise<boolean> {
    this.versioning ??= bucketVersioning(this.client, this.settings.bucket, signal).then((v) => v !== 'off', () => {
      this.versioning = undefined;
      return false;
    });
    return this.versioning;
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.uploadClient.destroy();
  }

  /** Rejects with EXISTS when the key is there already (the check for servers that ignore If-None-Match). */
  private async refuseExisting(objectKey: string, signal: AbortSignal): Promise<void> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }), { abortSignal: signal });
    } catch (err) {
      const e = this.convert(err, `stat ${this.url(objectKey)}`, signal);
      if (e.code === 'NOT_FOUND') return;
      throw e;
    }
    throw this.existsError(objectKey);
  }

  /** True when the object under `objectKey` has the ETag `etag` (the commit that seemed to fail went through). */
  private async holds(objectKey: string, etag: string): Promise<boolean> {
    if (!etag) return false;
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }), { abortSignal: AbortSignal.timeout(DISCARD_TIMEOUT_MS) });
      return res.ETag === etag;
    } catch {
      return false;
    }
  }

  private existsError(objectKey: string, cause?: unknown): StorageError {
    return new StorageError('EXISTS', this.name, `${this.url(objectKey)} already exists; it is never replaced`, { cause });
  }

  /**
   * Best-effort delete after a failed put whose commit request may have
   * reached the server. Bounded in time, so an unresponsive server cannot
   * hold up the failure it caused.
   */
  private async discard(objectKey: string): Promise<void> {
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }), { abortSignal: AbortSignal.timeout(DISCARD_TIMEOUT_MS) })
      .catch(() => {});
  }

  private convert(err: unknown, what: string, signal?: AbortSignal): StorageError {
    if (signal?.aborted) return abortedError(this.name, signal);
    return fromS3Error(this.name, err, {
      what,
      bucket: this.settings.bucket,
      endpoint: this.endpointLabel,
      redact: this.secrets,
    });
  }

  /** Keys are flat names; anything with a path separator is refused. */
  private objectKey(key: string): string {
    if (!key || key.includes('/') || key.includes('\\') || key === '.' || key === '..' || key.includes('\0')) {
      throw new StorageError('CONFIG', this.name, scrub(`invalid object name ${JSON.stringify(key)}`, this.secrets));
    }
    return this.settings.prefix + key;
  }

  private url(objectKey: string): string {
    return `s3://${this.settings.bucket}/${objectKey}`;
  }
}
