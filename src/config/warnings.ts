import type { ConfigIssue } from '../errors.js';
import type { KeyPath } from './interpolate.js';

/** Keys whose strings are shell commands or globs: `$VAR` and `~user` mean what the shell or the pattern makes of them. */
const VERBATIM = new Set(['command', 'hooks', 'inventory', 'exclude', 'headers', 'template']);
/** `$NAME` not preceded by another `$` (`$$` is a literal dollar). */
const BARE_VAR = /(?<!\$)((?:\$\$)*)\$([A-Za-z_][A-Za-z0-9_]*)/;
const TILDE_USER = /^~([A-Za-z_][A-Za-z0-9._-]*)(\/|$)/;

/**
 * Things that load but probably do not mean what was written, as warnings
 * at their key (the raw config, before `${VAR}` is replaced):
 * - `$VAR` without braces is kept as written; only `${VAR}` is replaced. In a
 *   secret only a value that is nothing but `$NAME` is reported, and the
 *   message never quotes it.
 * - `~user/...` is not expanded; only `~` and `~/` mean the home directory.
 * Shell commands, hooks and exclude patterns are left alone.
 */
export function configWarnings(raw: unknown, secrets: ReadonlySet<string>, lineOf: (p: KeyPath) => number | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const visitValue = (v: unknown, path: KeyPath, secret: boolean): void => {
    const key = path.at(-1);
    if (typeof key === 'string' && VERBATIM.has(key)) return;
    if (Array.isArray(v)) return v.forEach((x, i) => visitValue(x, [...path, i], secret));
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) visitValue(x, [...path, k], secret || secrets.has(k));
      return;
    }
    if (typeof v !== 'string') return;
    const add = (message: string) => out.push({ path: path.join('.'), line: lineOf(path), message });
    const bare = BARE_VAR.exec(v);
    if (secret) {
      if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v)) add('this secret looks like a variable without braces, which is kept as written; write ${NAME} to read it from the environment');
    } else if (bare) {
      add(`$${bare[2]} is kept as written: only \${${bare[2]}} is replaced from the environment (write $$ for a literal $)`);
    }
    const tilde = TILDE_USER.exec(v);
    if (tilde && !secret) add(`~${tilde[1]}${tilde[2]} is not expanded: only ~ and ~/ mean your home directory; write the full path`);
  };
  visitValue(raw, [], false);
  return out;
}
