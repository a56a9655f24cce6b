import { PassThrough, type Readable } from 'node:stream';

/** Why the source was destroyed when every branch was detached: not a failure of the source itself. */
export class NoConsumersError extends Error {
  constructor() {
    super('every consumer of the stream failed');
    this.name = 'NoConsumersError';
  }
}

export interface Tee {
  branches: PassThrough[];
  /** Stops feeding branch `i` (its consumer failed); the others go on without waiting for it. */
  detach(i: number): void;
}

/**
 * Splits one stream into `n` branches with shared backpressure: the source
 * is paused until every attached branch has drained, so memory stays bounded
 * by the branches' buffers: 4 MiB each when there are several (so a short
 * stall of one target does not stop the others at once), 1 MiB for one. A
 * detached branch no longer holds the others back. When every branch is
 * detached the source is destroyed.
 */
export function tee(source: Readable, n: number, highWaterMark = n > 1 ? 4 << 20 : 1 << 20): Tee {
  const branches = Array.from({ length: n }, () => new PassThrough({ highWaterMark }));
  const attached = new Set(branches.keys());
  let waiting = 0;
  const onDrain = () => {
    waiting--;
    if (waiting === 0) source.resume();
  };
  source.on('data', (chunk: Buffer) => {
    for (const i of attached) {
      const b = branches[i]!;
      if (!b.write(chunk)) {
        waiting++;
        b.once('drain', onDrain);
      }
    }
    if (waiting > 0) source.pause();
  });
  source.once('end', () => { for (const i of attached) branches[i]!.end(); });
  source.once('error', (err) => { for (const i of attached) branches[i]!.destroy(err); });
  return {
    branches,
    detach(i) {
      if (!attached.delete(i)) return;
      const b = branches[i]!;
      if (b.listenerCount('drain') > 0 && b.listeners('drain').includes(onDrain)) {
        b.removeListener('drain', onDrain);
        onDrain();
      }
      b.resume();
      if (attached.size === 0) source.destroy(new NoConsumersError());
    },
  };
}
