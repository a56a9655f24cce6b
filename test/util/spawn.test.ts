import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runProcess, runShell, startProcess } from '../../src/util/spawn.js';
import { isRunning, waitFor, waitForExit } from '../helpers/wait.js';

/** Whether `pid` has SIGTERM (signal 15) ignored, read from /proc: proves a test process really ignores it. */
function ignoresSigterm(pid: number): boolean {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('SigIgn:'))!;
  return (BigInt(`0x${line.split(/\s+/)[1]}`) & (1n << 14n)) !== 0n;
}

/** Starts `script` with /bin/sh; resolves once it has printed `count` pids (one a line) and returns them with the handle. */
async function startReporting(script: string, count: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}) {
  const pids: number[] = [];
  const proc = startProcess('/bin/sh', ['-c', script], { ...options, onStdoutLine: (l) => pids.push(Number(l)) });
  await waitFor(() => pids.length >= count, { what: `${count} pids from the test script` });
  return { proc, pids };
}

describe('the subprocess runner', () => {
  it('a stopped process that ignores SIGTERM is killed with SIGKILL after the grace, with its grandchildren', async () => {
    const { proc, pids } = await startReporting('trap "" TERM; sleep 300 & echo $!; sleep 300 & echo $!; echo $$; wait', 3);
    for (const pid of pids) expect(ignoresSigterm(pid)).toBe(true);
    proc.stop();
    const r = await proc.done;
    expect(r.aborted).toBe(true);
    expect(r.exitSignal).toBe('SIGKILL');
    for (const pid of pids) await waitForExit(pid, 'a process of the stopped group');
  });

  it('a grandchild that ignores SIGTERM dies too when its parent exits on SIGTERM', async () => {
    // The shell exits on SIGTERM at once; the sleep it started keeps running unless the group is SIGKILLed after the grace.
    const { proc, pids } = await startReporting('trap "" TERM; sleep 300 & trap - TERM; echo $!; wait', 1);
    expect(ignoresSigterm(pids[0]!)).toBe(true);
    proc.stop();
    const r = await proc.done;
    expect(r.exitSignal).toBe('SIGTERM');
    await waitForExit(pids[0]!, 'the grandchild that ignores SIGTERM');
  });

  it('a timeout and an abort stop the whole group by the same rule', async () => {
    const timed = await startReporting('trap "" TERM; sleep 300 & echo $!; wait', 1, { timeoutMs: 200 });
    const t = await timed.proc.done;
    expect(t.timedOut).toBe(true);
    expect(t.exitSignal).toBe('SIGKILL');
    await waitForExit(timed.pids[0]!, 'the grandchild after the timeout');

    const ctrl = new AbortController();
    const aborted = await startReporting('trap "" TERM; sleep 300 & echo $!; wait', 1, { signal: ctrl.signal });
    ctrl.abort();
    const a = await aborted.proc.done;
    expect(a.aborted).toBe(true);
    expect(a.exitSignal).toBe('SIGKILL');
    await waitForExit(aborted.pids[0]!, 'the grandchild after the abort');
  });

  it('a process that handles SIGTERM gets to run its cleanup before it exits', async () => {
    const lines: string[] = [];
    const proc = startProcess('/bin/sh', ['-c', 'trap "echo cleaned up; exit 7" TERM; echo ready; while :; do sleep 0.05; done'], { onStdoutLine: (l) => lines.push(l) });
    await waitFor(() => lines.includes('ready'), { what: 'the script to be ready' });
    proc.stop();
    const r = await proc.done;
    expect(r.exitCode).toBe(7);
    expect(lines).toContain('cleaned up');
  });

  it('background children of a process that exits by itself are left running', async () => {
    const r = await runShell('sleep 300 >/dev/null 2>&1 & echo $!', { captureStdout: true });
    const pid = Number(r.stdout.trim());
    try {
      expect(r.exitCode).toBe(0);
      expect(isRunning(pid)).toBe(true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  it('feeds input on stdin and streams stdout to the caller', async () => {
    const proc = startProcess('/bin/sh', ['-c', 'tr a-z A-Z'], { input: 'hello\n', stdout: 'stream' });
    const chunks: Buffer[] = [];
    for await (const c of proc.stdout!) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('HELLO\n');
    expect((await proc.done).exitCode).toBe(0);
  });

  it('a program that does not exist is reported, not thrown', async () => {
    const r = await runProcess('/nonexistent/ferry-test-program', []);
    expect((r.spawnError as NodeJS.ErrnoException | undefined)?.code).toBe('ENOENT');
  });
});
