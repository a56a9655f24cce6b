import type { Logger } from '../log.js';
import type { RunManager } from './runs.js';

/**
 * Graceful stop: once `signal` aborts (SIGTERM/SIGINT), a run in progress
 * gets `graceSeconds` to finish; then it is aborted, and the returned
 * `hard` signal aborts too (for other work such as a verification). The
 * abort reaches runJob and the adapters, which remove partial uploads, so
 * nothing incomplete looks complete.
 */
export function graceOnStop(signal: AbortSignal, runs: Pick<RunManager, 'current' | 'abortActive'>, graceSeconds: number, log: Logger): { hard: AbortSignal; interrupted: () => boolean; dispose(): void } {
  const hard = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onStop = () => {
    const active = runs.current;
    if (active) log.info(`stopping: run ${active.id} gets ${graceSeconds}s to finish before it is aborted`);
    timer = setTimeout(() => {
      if (runs.current) log.warn(`stopping: aborting run ${runs.current.id}`);
      hard.abort(new Error('the service is stopping'));
      void runs.abortActive('the service is stopping');
    }, graceSeconds * 1000);
    timer.unref();
  };
  if (signal.aborted) onStop();
  else signal.addEventListener('abort', onStop, { once: true });
  return {
    hard: hard.signal,
    interrupted: () => hard.signal.aborted,
    dispose() {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    },
  };
}

/** Resolves when `signal` aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
