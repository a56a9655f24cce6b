import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'shell-quote';
import { runProcess } from '../util/spawn.js';

/** Operators after which a new command starts. */
const COMMAND_START = new Set([';', '&&', '||', '|', '&', '(', ')', '|&', ';;']);
/** Reserved words followed by a command. */
const LEADING = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', '{', 'time']);
/** Reserved words after which no command name is checked in this line (lists of words follow). */
const GIVE_UP = new Set(['for', 'case', 'select', 'function']);

/**
 * The names a shell command line runs: the first word of each simple
 * command, after variable assignments and reserved words. Words built from
 * `$VAR` or backquotes are left out (only the shell knows them), and so is
 * everything after a here-document or a `for`/`case`.
 */
export function commandNames(line: string): string[] {
  const tokens = parse(line.replace(/\n/g, ' ; '), (key) => `$${key}`);
  const names: string[] = [];
  let expectCommand = true;
  let skipNext = false;
  for (const t of tokens) {
    if (typeof t === 'object' && 'comment' in t) break;
    if (typeof t === 'object' && 'op' in t && t.op !== 'glob') {
      if (t.op === '<<' || t.op === '<<<') break;
      if (COMMAND_START.has(t.op)) expectCommand = true;
      else if (expectCommand) skipNext = true; // a redirection before the command: its file name comes next
      continue;
    }
    const word = typeof t === 'string' ? t : (t as { pattern?: string }).pattern ?? '';
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (!expectCommand) continue;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || LEADING.has(word) || ['fi', 'done', 'esac', '}'].includes(word)) continue;
    if (GIVE_UP.has(word)) break;
    expectCommand = false;
    if (!/[$`*?[]/.test(word) && word !== '') names.push(word);
  }
  return [...new Set(names)];
}

/**
 * Which of the commands that `line` runs would not be found when `/bin/sh`
 * runs it from `cwd` with this process's PATH: builtins and functions of the
 * shell count as found, a name with a slash must be an executable file
 * (relative to `cwd`). Resolves with the missing names, in order.
 */
export async function missingCommands(line: string, cwd: string, signal?: AbortSignal): Promise<string[]> {
  const names = commandNames(line);
  const missing: string[] = [];
  const bare = names.filter((n) => !n.includes('/'));
  if (bare.length) {
    const r = await runProcess('/bin/sh', ['-c', 'for n do command -v -- "$n" >/dev/null 2>&1 || printf "%s\\n" "$n"; done', 'sh', ...bare], { cwd, captureStdout: true, timeoutMs: 10_000, signal });
    missing.push(...r.stdout.split('\n').filter(Boolean));
  }
  for (const n of names.filter((x) => x.includes('/'))) {
    if (!(await access(resolve(cwd, n), constants.X_OK).then(() => true, () => false))) missing.push(n);
  }
  return names.filter((n) => missing.includes(n));
}
