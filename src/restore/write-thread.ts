import { parentPort, workerData } from 'node:worker_threads';
import { OpApplier, WriteOpError, type WriteOp } from './write-ops.js';

/** The worker side of `FileWriter`: applies each batch in order, hands its buffer back, and stops at the first failure. */
const port = parentPort!;
const { root, umask } = workerData as { root: string; umask: number };
const applier = new OpApplier(root, umask);
let failed = false;

port.on('message', (batch: { ops: WriteOp[]; data: ArrayBuffer }) => {
  if (failed) return port.postMessage({ data: batch.data }, [batch.data]);
  try {
    applier.apply(batch.ops, new Uint8Array(batch.data));
    port.postMessage({ data: batch.data }, [batch.data]);
  } catch (err) {
    failed = true;
    const e = err instanceof WriteOpError ? err : new WriteOpError('', err as NodeJS.ErrnoException);
    const error = { entry: e.entry, code: e.original.code, syscall: e.original.syscall, message: e.original.message };
    port.postMessage({ data: batch.data, error }, [batch.data]);
  }
});
port.postMessage({ ready: true });
