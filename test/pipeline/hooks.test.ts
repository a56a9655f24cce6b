import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Logger } from '../../src/log.js';
import { runHooks } from '../../src/pipeline/hooks.js';
import { isRunning, waitForExit } from '../helpers/wait.js';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-hooks-')); });
afterAll(() => rm(dir, { recursive: true, force: true }));

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => lines.push(m);
  return { lines, info: push, warn: push, error: push, debug() {} };
}

describe('hooks', () => {
  test('run one after another, in order, with the environment they are given', async () => {
    const out = join(dir, 'order.txt');
    const log = recorder();
    await runHooks(
      [`sleep 0.2; echo one >> ${out}`, `echo "two $FERRY_STATUS $FERRY_JOB" >> ${out}; echo said-hello; echo warned >&2`],
      { timeout: 10, env: { FERRY_STATUS: 'success', FERRY_JOB: 'mss' }, log },
    );
    expect(await readFile(out, 'utf8')).toBe('one\ntwo success mss\n');
    expect(log.lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/hook ".*": said-hello$/),
      expect.stringMatching(/hook ".*": warned$/),
    ]));
  });

  test('a failing hook stops the list and names the command, its exit code and stderr', async () => {
    const out = join(dir, 'after-fail.txt');
    await expect(runHooks(['echo starting; echo "cannot stop app" >&2; exit 1', `touch ${out}`], { timeout: 10, log: recorder() }))
      .rejects.toThrow('hook "echo starting; echo "cannot stop app" >&2; exit 1" exited with 1: cannot stop app');
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });

  test('with keepGoing every hook runs and the first failure is reported', async () => {
    const out = join(dir, 'keep-going.txt');
    await expect(runHooks(['exit 2', `touch ${out}`, 'exit 3'], { timeout: 10, log: recorder(), keepGoing: true }))
      .rejects.toThrow('hook "exit 2" exited with 2');
    expect(await readFile(out, 'utf8')).toBe('');
  });

  test('a hook that hangs is killed at its timeout with its whole process group', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    await expect(runHooks([`sleep 600 & echo $! > ${pidFile}; sleep 600`], { timeout: 1, log: recorder() }))
      .rejects.toThrow(/^hook "sleep 600 & .*" timed out after 1 s$/);
    await waitForExit(Number(await readFile(pidFile, 'utf8')), 'the hook\'s background child');
  });

  test('a hook that leaves a daemon running in the background does not block the run', async () => {
    const pidFile = join(dir, 'daemon.pid');
    await runHooks([`sleep 600 & echo $! > ${pidFile}`], { timeout: 60, log: recorder() });
    const daemon = Number(await readFile(pidFile, 'utf8'));
    try {
      expect(isRunning(daemon)).toBe(true);
    } finally {
      process.kill(daemon, 'SIGKILL');
    }
  });

  test('aborting kills the running hook', async () => {
    const controller = new AbortController();
    const pidFile = join(dir, 'aborted.pid');
    const log = recorder();
    log.info = (line: string) => { if (line.endsWith(': started')) controller.abort(); };
    await expect(runHooks([`echo $$ > ${pidFile}; echo started; exec sleep 600`], { timeout: 60, log, signal: controller.signal }))
      .rejects.toThrow(/was cancelled/);
    await waitForExit(Number(await readFile(pidFile, 'utf8')), 'the aborted hook');
  });
});
