import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
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

/**
 * A view of `client` for one `Upload` that ties its requests to `signal` and
 * makes its commit exclusive.
 *
 * lib-storage does not pass its abort signal to the requests it sends, so
 * `Upload.abort()` rejects `done()` while an in-flight single-part PutObject
 * still completes the object (aws/aws-sdk-js-v3#5109). Here every data
 * request (PutObject, UploadPart, CompleteMultipartUpload) is cancelled at
 * the HTTP layer on abort. AbortMultipartUpload is left unsignalled so the
 * cleanup after an abort can still reach the server.
 *
 * A request that could make the object visible (PutObject,
 * CompleteMultipartUpload) carries `If-None-Match: *`, so a server that
 * supports conditional writes refuses it (412) when the key exists; for
 * servers that ignore the header, `beforeCommit` runs just before it is sent
 * (a HEAD that rejects when the key exists). `onCommit` is called once the
 * request is sent, so a failed put knows it has to delete whatever may have
 * landed.
 */
export function scopedClient(client: S3Client, signal: AbortSignal, beforeCommit: () => Promise<void>, onCommit: () => void): S3Client {
  const send = async (command: unknown, options?: Record<string, unknown>): Promise<unknown> => {
    const sendAny = client.send.bind(client) as (c: unknown, o?: Record<string, unknown>) => Promise<unknown>;
    if (isCommand(command, AbortMultipartUploadCommand)) return sendAny(command, options);
    if (isCommand(command, PutObjectCommand) || isCommand(command, CompleteMultipartUploadCommand)) {
      (command as { input: { IfNoneMatch?: string } }).input.IfNoneMatch = '*';
      await beforeCommit();
      onCommit();
    }
    return sendAny(command, { ...options, abortSignal: signal });
  };
  return Object.assign(Object.create(client) as S3Client, { send }) as S3Client;
}

/** `instanceof`, or the same class name when a second copy of the SDK is loaded (ESM and CJS builds side by side). */
function isCommand(command: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  return command instanceof type || (command as object | null)?.constructor?.name === type.name;
}
