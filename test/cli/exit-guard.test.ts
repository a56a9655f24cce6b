import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, ROOT, type CliResult } from '../helpers/cli.js';

const dist = (p: string) => pathToFileURL(join(ROOT, 'dist', 'src', p)).href;

/**
 * Runs a command body under the CLI's exit guard in a fresh process, the way
 * `ferry` runs each command: the body registers its pending work and an
 * abandon handler that records the failure in `recorded`.
 */
async function guarded(dir: string, body: string): Promise<CliResult> {
  const script = join(dir, 'command.mjs');
  await writeFile(script, [
    `import { writeFileSync } from 'node:fs';`,
    `import { runToExit } from ${JSON.stringify(dist('cli/exit-guard.js'))};`,
    `import { beginWork, onAbandon } from ${JSON.stringify(dist('util/pending.js'))};`,
    `onAbandon(async (reason) => writeFileSync(${JSON.stringify(join(dir, 'recorded'))}, reason));`,
    `runToExit(async () => { ${body} });`,
  ].join('\n'));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child).done;
}

describe('every way the process can end, other than the command finishing, is a recorded failure with exit 1', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-guard-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });
  const recorded = () => readFile(join(dir, 'recorded'), 'utf8').catch(() => undefined);

  it('a promise that never settles (the event loop drains) ends with exit 1 naming the pending work, and the failure is recorded', async () => {
    const r = await guarded(dir, `beginWork('upload to target "offsite"'); await new Promise(() => {}); return 0;`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ferry: the process was about to end while upload to target "offsite" was still pending/);
    expect(await recorded()).toMatch(/upload to target "offsite"/);
  });

  it('a rejection nobody awaits ends with exit 1 naming the error and the pending work, even when the command would return 0', async () => {
    const r = await guarded(dir, `beginWork('prune of target "usb"'); Promise.reject(new Error('lost write')); await new Promise((r) => setTimeout(r, 60_000)); return 0;`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unhandled rejection \(lost write\) while prune of target "usb" was still pending/);
    expect(await recorded()).toMatch(/lost write/);
  });

  it('an exception thrown from a callback ends with exit 1 and is recorded', async () => {
    const r = await guarded(dir, `beginWork('restore'); setTimeout(() => { throw new Error('disk gone'); }, 1); await new Promise(() => {}); return 0;`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/uncaught exception \(disk gone\)/);
    expect(await recorded()).toMatch(/disk gone/);
  });

  it('an error after the command finished is a warning and keeps the command\'s exit code', async () => {
    const r = await guarded(dir, `setTimeout(() => Promise.reject(new Error('late socket error')), 20); return 0;`);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: unhandled rejection \(late socket error\) after the command finished/);
    expect(await recorded()).toBeUndefined();
  });

  it('a command that finishes keeps its own exit code and records nothing extra', async () => {
    const done = await guarded(dir, `const end = beginWork('verify'); await new Promise((r) => setTimeout(r, 5)); end(); return 3;`);
    expect(done.code).toBe(3);
    expect(done.stderr).toBe('');
    expect(await recorded()).toBeUndefined();
  });
});
