import { StorageError } from './errors.js';

/**
 * The one key rule: keys are flat names inside the target's root. Empty
 * names, `.` and `..`, and names holding `/`, `\`, NUL or a newline are
 * refused with CONFIG before any backend is touched. (Without a `/`, `..`
 * can only escape the root as the whole name; `a..b` is an ordinary name.)
 */
export function checkKey(target: string, key: string): void {
  if (typeof key !== 'string' || key === '' || key === '.' || key === '..' || /[/\\\0\r\n]/.test(key)) {
    throw new StorageError('CONFIG', target, `invalid object name ${JSON.stringify(key)}: keys are flat names without "/", "..", NUL or newlines`);
  }
}
