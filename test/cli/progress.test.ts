import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, FERRY, workspace, type Workspace } from '../helpers/cli.js';

const run = promisify(execFile);

/** Bytes and count of the regular files under `dir` (what a run reads). */
function filesUnder(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      const sub = filesUnder(p);
      bytes += sub.bytes;
      files += sub.files;
    } else if (st.isFile()) {
      bytes += st.size;
      files++;
    }
  }
  return { bytes, files };
}

/** Every stderr line as a JSON event; a line that is not JSON fails the test. */
function events(stderr: string): Record<string, unknown>[] {
  return stderr.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

const SUMMARY_KEYS = ['bytes_content', 'bytes_per_second', 'bytes_read', 'bytes_stored', 'compression_ratio', 'files', 'freed_bytes', 'seconds'];
const SUMMARY_LINE = /^summary: \d+ files, read [\d.]+ (B|KiB|MiB), stored [\d.]+ (B|KiB|MiB), ratio ([\d.]+|-), [\d.]+ (B|KiB|MiB)\/s over [\d.]+ s, prune freed [\d.]+ (B|KiB|MiB)$/;

/** Runs ferry in a pseudo-terminal (util-linux `script`), so stderr is a TTY; returns everything the terminal showed. */
async function onTty(ws: Workspace, args: string[]): Promise<string> {
  const command = [process.execPath, FERRY, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await run('script', ['-qefc', command, '/dev/null'], { cwd: ws.dir, env: { ...process.env, COLUMNS: '200' } });
  return stdout;
}

/** The bar frames a terminal showed: the text between cursor moves, escape sequences removed. */
function frames(screen: string, command: string): string[] {
  const plain = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '\n');
  return plain.split(/[\r\n]+/).filter((l) => l.startsWith(command.padEnd(8) + ' |'));
}

describe('progress and summaries', () => {
  let ws: Workspace;
  let source: { bytes: number; files: number };
  beforeAll(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    source = filesUnder(join(ws.dir, 'app'));
  });
  afterAll(async () => { await ws.cleanup(); });

  it('--progress json writes start, progress up to exactly 100 % of the source bytes, and the summary of the --json result, one JSON event per line on stderr', async () => {
    const r = await ws.run(['--json', '--progress', 'json', 'run']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { size: number; summary: Record<string, unknown> };
    const all = events(r.stderr);
    const kinds = all.map((e) => e.event);
    expect(kinds[0]).toBe('start');
    expect(kinds.at(-1)).toBe('summary');
    expect([...new Set(kinds)].filter((k) => k !== 'log').sort()).toEqual(['progress', 'start', 'summary']);
    expect(all[0]).toEqual({ event: 'start', command: 'run', total_bytes: source.bytes, total_files: source.files });
    const progress = all.filter((e) => e.event === 'progress');
    for (const e of progress) {
      expect(Object.keys(e).sort()).toEqual(['bytes_done', 'bytes_per_second', 'command', 'eta_seconds', 'event', 'files_done', 'percent', 'total_bytes', 'total_files']);
    }
    const done = progress.map((e) => e.bytes_done as number);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ bytes_done: source.bytes, total_bytes: source.bytes, files_done: source.files, total_files: source.files, percent: 100, eta_seconds: 0 });
    const { event, command, ok, ...summary } = all.at(-1)!;
    expect({ event, command, ok }).toEqual({ event: 'summary', command: 'run', ok: true });
    expect(summary).toEqual(doc.summary);
    expect(Object.keys(summary).sort()).toEqual(SUMMARY_KEYS);
    expect(summary).toMatchObject({ files: source.files, bytes_read: source.bytes, bytes_content: source.bytes, bytes_stored: doc.size });
  });

  it('restore, verify and pull report progress on the stored bytes, ending at 100 % of the archive', async () => {
    const archive = readdirSync(join(ws.dir, 'backups')).find((f) => /Z\.tar\.gz$/.test(f))!;
    const size = statSync(join(ws.dir, 'backups', archive)).size;
    for (const [command, args, files] of [
      ['restore', ['restore', '--to', join(ws.dir, 'restored')], source.files],
      ['verify', ['verify'], source.files],
      ['pull', ['pull', '--out', join(ws.dir, 'pulled.tar.gz')], null],
    ] as const) {
      const r = await ws.run(['--progress', 'json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      const all = events(r.stderr).filter((e) => e.event !== 'log');
      expect(all[0]).toEqual({ event: 'start', command, total_bytes: size, total_files: files });
      expect(all.at(-2)).toMatchObject({ event: 'progress', command, bytes_done: size, total_bytes: size, percent: 100, files_done: files ?? 0 });
      expect(all.at(-1)).toMatchObject({ event: 'summary', command, ok: true, bytes_read: size, bytes_stored: size, files: source.files, bytes_content: source.bytes });
      expect(r.stdout.trim().split('\n').at(-1)).toMatch(SUMMARY_LINE);
    }
  });

  it('on a terminal, run, restore, pull and verify draw a bar that reaches 100 % with rate, ETA and file count', async () => {
    const runScreen = await onTty(ws, ['run']);
    const last = (screen: string, command: string) => frames(screen, command).at(-1) ?? `no ${command} bar in: ${JSON.stringify(screen)}`;
    expect(last(runScreen, 'run')).toMatch(new RegExp(`^run      \\|█+\\| 100% \\| [\\d.]+ KiB of [\\d.]+ KiB \\| [\\d.]+ (B|KiB|MiB)/s \\| ETA 0s \\| ${source.files}/${source.files} files$`));
    const archive = 'latest';
    const restore = await onTty(ws, ['restore', archive, '--to', join(ws.dir, 'tty-restored')]);
    expect(last(restore, 'restore')).toMatch(new RegExp(`\\| 100% \\| .* \\| ETA 0s \\| ${source.files}/${source.files} files$`));
    const verify = await onTty(ws, ['verify', archive]);
    expect(last(verify, 'verify')).toMatch(new RegExp(`\\| 100% \\| .* \\| ETA 0s \\| ${source.files}/${source.files} files$`));
    const pull = await onTty(ws, ['pull', archive, '--out', join(ws.dir, 'tty.tar.gz')]);
    expect(last(pull, 'pull')).toMatch(/\| 100% \| ([\d.]+ KiB) of \1 \| .*\/s \| ETA 0s$/);
    for (const screen of [runScreen, restore, verify, pull]) expect(screen).toMatch(/summary: \d+ files, read /);
  });

  it('a command that fails under --progress json still writes only JSON on stderr, ending with the error', async () => {
    const r = await ws.run(['--progress', 'json', 'restore', '--to', join(ws.dir, 'app')]);
    expect(r.code).toBe(2);
    expect(events(r.stderr)).toEqual([{ event: 'error', message: `${join(ws.dir, 'app')} is not empty; pass --force to restore into it`, exit_code: 2 }]);
  });

  it('without a terminal, no bar is drawn: stderr has no control characters', async () => {
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/[\x1b\r]/);
  });

  it('every data-moving command ends with a one-line summary, and prune says how much it freed', async () => {
    const before = readdirSync(join(ws.dir, 'backups')).filter((f) => /Z\.tar\.gz$/.test(f));
    expect(before).toHaveLength(1);
    const oldSize = statSync(join(ws.dir, 'backups', before[0]!)).size;
    const r = await ws.run(['--json', 'run']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { summary: { freed_bytes: number } }).summary.freed_bytes).toBe(oldSize);
    const human = await ws.run(['run']);
    expect(human.stdout.trim().split('\n').at(-1)).toMatch(SUMMARY_LINE);
    const prune = await ws.run(['prune']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout.trim().split('\n').at(-1)).toMatch(SUMMARY_LINE);
  });
});
