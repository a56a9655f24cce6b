import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { PutBody } from './adapter.js';

/** A replayable body over an in-memory buffer (manifests, probes). */
export function bufferBody(data: Buffer | string): PutBody {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return { replayable: true, size: buf.length, open: () => Readable.from([buf]) };
}

/** A replayable body over a finished local file of known size. */
export function fileBody(path: string, size: number): PutBody {
  return { replayable: true, size, path, open: () => createReadStream(path, { highWaterMark: 1 << 20 }) };
}

/** A one-shot body over a live stream; `sizeHint` is an upper bound when the size is not known yet. */
export function streamBody(stream: Readable, sizeHint?: number): PutBody {
  let opened = false;
  return {
    replayable: false,
    sizeHint,
    open() {
      if (opened) throw new Error('this upload body is a live stream and cannot be read twice');
      opened = true;
      return stream;
    },
  };
}
