/**
 * Work the process must not end without. A long operation registers what it
 * is doing (`beginWork`) and how to record that it was cut short
 * (`onAbandon`); the CLI entry point asks `pendingWork()` when the event loop
 * drains or a rejection goes unhandled, runs `abandonAll(reason)` and exits
 * 1. Nothing here ends the process itself.
 */
const open = new Map<number, string>();
let nextId = 0;
const abandonHandlers = new Set<(reason: string) => Promise<void>>();

/** Marks `label` (e.g. `upload to target "offsite"`) as in flight; the returned function marks it done. Idempotent. */
export function beginWork(label: string): () => void {
  const id = nextId++;
  open.set(id, label);
  return () => { open.delete(id); };
}

/** Runs `work`, listed as pending under `label` until it settles. */
export async function tracked<T>(label: string, work: () => Promise<T>): Promise<T> {
  const done = beginWork(label);
  try {
    return await work();
  } finally {
    done();
  }
}

/** Labels of the work still in flight, oldest first. */
export function pendingWork(): string[] {
  return [...open.values()];
}

/**
 * Registers how to record that the process ends before the work finished
 * (e.g. write a failed run to `last_run.json`). The returned function
 * unregisters it, which the work does once it has recorded its own result.
 */
export function onAbandon(handler: (reason: string) => Promise<void>): () => void {
  abandonHandlers.add(handler);
  return () => { abandonHandlers.delete(handler); };
}

/** Calls every registered abandon handler once with `reason`; a handler that fails is skipped. */
export async function abandonAll(reason: string): Promise<void> {
  const handlers = [...abandonHandlers];
  abandonHandlers.clear();
  await Promise.all(handlers.map((h) => h(reason).catch(() => {})));
}
