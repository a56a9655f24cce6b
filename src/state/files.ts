import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exitCodeForStatus } from '../exit-codes.js';
import { fromDocument, toDocument } from '../util/json-document.js';
import type { RunResult } from './types.js';

/** The run as it is stored: snake_case keys, `format_version` and the exit code `ferry run` gave. */
const stored = (result: RunResult) => toDocument(result, exitCodeForStatus(result.status));

/** Writes `last_run.json` atomically (temporary name, then rename) and appends the run to `history.jsonl`. */
export async function recordRun(stateDir: string, result: RunResult): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'last_run.json');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(stored(result), null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
  await appendFile(join(stateDir, 'history.jsonl'), JSON.stringify(stored(result)) + '\n', { mode: 0o600 });
}

export async function readLastRun(stateDir: string): Promise<RunResult | undefined> {
  try {
    return fromDocument<RunResult>(JSON.parse(await readFile(join(stateDir, 'last_run.json'), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Every recorded run, oldest first. Lines that do not parse (a torn last line) are skipped. */
export async function readHistory(stateDir: string): Promise<RunResult[]> {
  let text: string;
  try {
    text = await readFile(join(stateDir, 'history.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: RunResult[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(fromDocument<RunResult>(JSON.parse(line)));
    } catch {
      // a line cut short by a crash
    }
  }
  return out;
}
