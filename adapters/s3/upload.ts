import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Counts the bytes that pass through. With an `expected` size it fails the
 * stream, before it ends, when the body is longer or shorter than promised:
 * the uploader then never sees a last part, so nothing is completed.
 */
export class CountingStream extends Transform {
  bytes = 0;
  /** Set when this stream, not its source, found the body to be wrong. */
  lengthError: Error | undefined;

  constructor(private readonly expected?: number) {
    super({ readableHighWaterMark: 1 << 20, writableHighWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) return callback(this.mismatch());
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) return callback(this.mismatch());
    callback();
  }

  private mismatch(): Error {
    this.lengthError = new Error(`the upload body was declared as ${this.expected} bytes but delivered ${this.bytes} or more`);
    return this.lengthError;
  }
}

/** What one `Upload` needs from the adapter besides the client. */
export interface UploadScope {
  /** Cancels every data request at the HTTP layer when it aborts. */
  signal: AbortSignal;
  /** Runs just before a commit request (PutObject, CompleteMultipartUpload) is sent; rejects with EXISTS when the key is there. */
  beforeCommit(): Promise<void>;
  /** Called once a commit request has been sent. */
  onCommit(): void;
  /** Repeats one request through transient failures (see `withRequestRetry`); `what` names it for the log. */
  retry<T>(what: string, request: () => Promise<T>): Promise<T>;
  /**
   * After a commit that failed in a way that leaves open whether the server
   * applied it, a repeat may find the object there (412) or the upload gone
   * (404). Resolves true when the object under the key is the one this
   * commit would have made (its ETag matches).
   */
  landed(expectedEtag: string): Promise<boolean>;
  /** The AbortMultipartUpload after a failure was refused or did not get through; the parts stay on the server. */
  abortFailed(err: unknown): void;
}

/**
 * A view of `client` for one `Upload` that ties its requests to the scope's
 * signal, retries each request on its own and makes the commit exclusive.
 *
 * lib-storage does not pass its abort signal to the requests it sends, so
 * `Upload.abort()` rejects `done()` while an in-flight single-part PutObject
 * still completes the object (aws/aws-sdk-js-v3#5109). Here every data
 * request (PutObject, UploadPart, CompleteMultipartUpload) is cancelled at
 * the HTTP layer on abort. AbortMultipartUpload is left unsignalled so the
 * cleanup after an abort can still reach the server.
 *
 * Every request but the abort goes through `scope.retry`: a part whose
 * connection dropped, or that got a 5xx or 429, is sent again out of the
 * buffer lib-storage holds for it, and the upload only fails (and is
 * aborted) once that part's retries are exhausted.
 *
 * A request that could make the object visible (PutObject,
 * CompleteMultipartUpload) carries `If-None-Match: *`, so a server that
 * supports conditional writes refuses it (412) when the key exists; for
 * servers that ignore the header, `beforeCommit` runs just before it is sent
 * (a HEAD that rejects when the key exists). `onCommit` is called once the
 * request is sent, so a failed put knows it has to delete whatever may have
 * landed.
 */
export function scopedClient(client: S3Client, scope: UploadScope): S3Client {
  const sendAny = client.send.bind(client) as (c: unknown, o?: Record<string, unknown>) => Promise<unknown>;
  const send = async (command: unknown, options?: Record<string, unknown>): Promise<unknown> => {
    if (isCommand(command, AbortMultipartUploadCommand)) {
      // A failed abort must not hide why the upload failed; the prune after a later run clears the upload.
      return sendAny(command, options).catch((err: unknown) => { scope.abortFailed(err); return {}; });
    }
    const signalled = () => sendAny(command, { ...options, abortSignal: scope.signal });
    const name = (command as object).constructor.name.replace(/Command$/, '');
    const partNumber = (command as { input: { PartNumber?: number } }).input.PartNumber;
    const what = partNumber !== undefined ? `part ${partNumber}` : name;
    if (!isCommand(command, PutObjectCommand) && !isCommand(command, CompleteMultipartUploadCommand)) {
      return scope.retry(what, signalled);
    }
    (command as { input: { IfNoneMatch?: string } }).input.IfNoneMatch = '*';
    await scope.beforeCommit();
    let sentBefore = false;
    return scope.retry(what, async () => {
      scope.onCommit();
      try {
        return await signalled();
      } catch (err) {
        if (sentBefore && isGoneOrThere(err) && await scope.landed(commitEtag(command))) return {};
        sentBefore = true;
        throw err;
      }
    });
  };
  return Object.assign(Object.create(client) as S3Client, { send }) as S3Client;
}

/** 412 (the key exists) or 404 (the upload is gone): what a repeated commit sees when the first one went through. */
function isGoneOrThere(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 412 || status === 404;
}

/**
 * The ETag S3 gives the object a commit makes: the MD5 of a single PutObject
 * body, or for a multipart upload the MD5 of its parts' binary MD5s followed
 * by `-<parts>`.
 */
export function commitEtag(command: unknown): string {
  const input = (command as { input: { Body?: unknown; MultipartUpload?: { Parts?: { ETag?: string }[] } } }).input;
  if (isCommand(command, CompleteMultipartUploadCommand)) {
    const parts = input.MultipartUpload?.Parts ?? [];
    const md5 = createHash('md5');
    for (const p of parts) md5.update(Buffer.from((p.ETag ?? '').replace(/"/g, ''), 'hex'));
    return `"${md5.digest('hex')}-${parts.length}"`;
  }
  const body = input.Body;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? body : undefined;
  return bytes ? `"${createHash('md5').update(bytes).digest('hex')}"` : '';
}

/** `instanceof`, or the same class name when a second copy of the SDK is loaded (ESM and CJS builds side by side). */
function isCommand(command: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  return command instanceof type || (command as object | null)?.constructor?.name === type.name;
}
