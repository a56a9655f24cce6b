import { toDocument } from '../util/json-document.js';
import { describeError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { abandonAll, pendingWork } from '../util/pending.js';

/**
 * Runs the whole command and ends the process with its exit code, and only
 * that way: a command exits 0 only after its promise resolved with 0. Every
 * other ending is a failure, exit 1, with one line on stderr naming the work
 * still pending (see `beginWork`), after the registered abandon handlers
 * have recorded it (`onAbandon`; `ferry run` writes a failed run to
 * `last_run.json`, so `ferry status` shows it):
 * - the event loop drains while the command has not settled (a stream or
 *   promise that never settles: nothing is left that could settle it);
 * - a promise rejects and nobody handles it;
 * - an exception escapes to the event loop.
 * Such an error after the command settled is only a warning: its result stands.
 */
export function runToExit(command: () => Promise<number>, options: { json?: () => boolean } = {}): void {
  let settled = false;
  let ending = false;
  const fail = (why: string, err?: unknown) => {
    if (process.env.FERRY_DEBUG && err) console.error(err);
    if (ending) return;
    if (settled) {
      // The command's work is done, checked and recorded; a late error (a socket closing) does not undo it.
      process.stderr.write(`ferry: warning: ${why} after the command finished\n`);
      return;
    }
    ending = true;
    const pending = pendingWork();
    const what = pending.length ? pending.join(', ') : 'the command';
    const reason = `${why} while ${what} was still pending`;
    process.stderr.write(`ferry: ${reason}\n`);
    // With --json, scripts get one JSON document on stdout, this failure included.
    if (options.json?.()) process.stdout.write(JSON.stringify(toDocument({ error: reason }, EXIT.FAILURE), null, 2) + '\n');
    process.exitCode = EXIT.FAILURE;
    void abandonAll(reason).finally(() => process.exit(EXIT.FAILURE));
  };
  process.on('beforeExit', () => { if (!settled) fail('the process was about to end'); });
  process.on('unhandledRejection', (err) => fail(`unhandled rejection (${describeError(err)})`, err));
  process.on('uncaughtException', (err) => fail(`uncaught exception (${describeError(err)})`, err));
  command().then(
    (code) => {
      settled = true;
      if (ending) return;
      process.exitCode = code;
      // Lingering sockets or timers must not keep a finished command alive.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (err) => {
      settled = true;
      if (ending) return;
      process.stderr.write(`ferry: ${describeError(err)}\n`);
      process.exit(EXIT.FAILURE);
    },
  );
}
