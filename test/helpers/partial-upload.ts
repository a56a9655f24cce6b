import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Collected } from './cli.js';
import { waitFor } from './wait.js';

/**
 * Waits until the running `ferry` process `run` has written more than
 * `bytes` into a temporary upload file (`.ferry-partial-*`) in the server
 * directory `dir`; fails at once, showing the run's output, if the run ends
 * first. `what` names the point for the failure message ("a third done").
 */
export async function waitForPartialUpload(run: Collected, dir: string, bytes: number, what: string): Promise<void> {
  await waitFor(async () => {
    if (run.exited) throw new Error(`the run ended before the upload was ${what}:\n${run.stdout}${run.stderr}`);
    const partial = (await readdir(dir).catch(() => [] as string[])).find((n) => n.startsWith('.ferry-partial-'));
    return partial !== undefined && (await stat(join(dir, partial)).catch(() => ({ size: 0 }))).size > bytes;
  }, { what: `the upload to be ${what}`, interval: 5 });
}
