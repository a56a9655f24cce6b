import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import { redactUrlsIn } from '../util/redact-url.js';
import type { KeyPath } from './interpolate.js';
import type { Position } from './positions.js';
import { describeSchema, discriminatorValues, keysOf, schemaAt } from './schema-at.js';
import { didYouMean } from './suggest.js';

type Issue = z.core.$ZodIssue;

export interface MessageContext {
  root: z.ZodType;
  /** The config after interpolation: what the schema saw. */
  raw: unknown;
  /** Names of secret keys: their values are never quoted. */
  secrets: ReadonlySet<string>;
  /** Where a key is written; with `key`, that key of the map at `path`. */
  positionOf(path: KeyPath, key?: string): Position | undefined;
}

/** zod's own wording, which is replaced; messages a schema wrote itself are kept. */
const LIBRARY_MESSAGE = /^(Invalid input|Invalid option|Invalid (string|URL|discriminator|value)|Too (big|small):|Unrecognized key)/;

/**
 * Schema failures written for people, each at its key:
 * `targets.local.keep: expected a number or a map of last/hourly/daily/weekly/monthly/yearly, got the string "7"`,
 * `unknown key; did you mean `keep`?`, `missing: expected a string`. A
 * union's failure is reported inside the option the value was meant for
 * when its type fits one; secret values are never quoted.
 */
export function humanIssues(issue: Issue, ctx: MessageContext, prefix: KeyPath = []): ConfigIssue[] {
  const path = [...prefix, ...issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s))] as KeyPath;
  const at = (p: KeyPath, message: string, key?: string): ConfigIssue => ({ path: p.join('.'), ...ctx.positionOf(p, key), message });
  const input = valueAt(ctx.raw, path);
  const got = () => describeValue(input, isSecret(path, ctx.secrets));
  const expected = () => {
    const s = schemaAt(ctx.root, path, ctx.raw);
    return s ? describeSchema(s) : undefined;
  };
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysOf(schemaAt(ctx.root, path, ctx.raw), input).filter((k) => k !== '$schema');
      return issue.keys.map((key) => {
        const hint = didYouMean(key, known) || (known.length && known.length <= 12 ? `; expected one of: ${known.join(', ')}` : '');
        return at([...path, key], `unknown key${hint}`, key);
      });
    }
    case 'invalid_union': {
      const disc = (issue as { discriminator?: string }).discriminator;
      if (issue.errors.length === 0 && disc !== undefined) {
        const options = discriminatorValues(schemaAt(ctx.root, path.slice(0, -1), ctx.raw)).map(String);
        const list = `expected one of ${options.join(', ')}`;
        if (input === undefined) return [at(path, `missing: ${list}`)];
        return [at(path, `${list}, got ${got()}${typeof input === 'string' ? didYouMean(input, options) : ''}`)];
      }
      // The option whose type fits the value explains what is wrong inside it.
      const inside = issue.errors.filter((branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (inside.length === 1) return inside[0]!.flatMap((i) => humanIssues(i, ctx, path));
      return [at(path, `expected ${expected() ?? 'another value'}, got ${got()}`)];
    }
    case 'invalid_type': {
      if (input === undefined) return [at(path, `missing: expected ${expected() ?? article(issue.expected)}`)];
      const hint = issue.expected === 'array' && input !== null && typeof input !== 'object' ? `; write [${JSON.stringify(input)}] for a list of one` : '';
      return [at(path, `expected ${expected() ?? article(issue.expected)}, got ${got()}${hint}`)];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => String(v));
      const list = issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      return [at(path, `expected ${list}, got ${got()}${typeof input === 'string' ? didYouMean(input, options) : ''}`)];
    }
    case 'too_big':
    case 'too_small': {
      if (!LIBRARY_MESSAGE.test(issue.message)) return [at(path, issue.message)];
      return [at(path, `${boundMessage(issue)}, got ${got()}`)];
    }
    case 'invalid_format': {
      if (!LIBRARY_MESSAGE.test(issue.message)) return [at(path, `${issue.message}, got ${got()}`)];
      const what = issue.format === 'url' ? 'a URL such as https://host/path' : issue.format === 'regex' ? `a string matching ${(issue as { pattern?: string }).pattern}` : `a ${issue.format}`;
      return [at(path, `expected ${what}, got ${got()}`)];
    }
    default:
      return [at(path, LIBRARY_MESSAGE.test(issue.message) ? `invalid value: ${got()}` : issue.message)];
  }
}

function boundMessage(issue: Extract<Issue, { code: 'too_big' | 'too_small' }>): string {
  const big = issue.code === 'too_big';
  const limit = Number(big ? (issue as { maximum: number | bigint }).maximum : (issue as { minimum: number | bigint }).minimum);
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'number' || issue.origin === 'int') {
    return `must be ${big ? (inclusive ? 'at most' : 'less than') : inclusive ? 'at least' : 'more than'} ${limit}`;
  }
  const unit = issue.origin === 'string' ? 'character' : 'entry';
  const plural = (n: number) => `${n} ${unit === 'entry' ? (n === 1 ? 'entry' : 'entries') : `${unit}${n === 1 ? '' : 's'}`}`;
  if (!big && limit === 1) return 'must not be empty';
  return `must have ${big ? 'at most' : 'at least'} ${plural(limit)}`;
}

function article(type: string): string {
  return type === 'array' ? 'a list' : type === 'object' ? 'a map' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function valueAt(raw: unknown, path: KeyPath): unknown {
  let v = raw;
  for (const seg of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[String(seg)] : undefined;
  return v;
}

function isSecret(path: KeyPath, secrets: ReadonlySet<string>): boolean {
  return path.some((seg) => typeof seg === 'string' && secrets.has(seg));
}

/** A value as the message shows it: `the string "7"`, `the number 0`, `a list`; a secret's text never. */
export function describeValue(v: unknown, secret = false): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') {
    if (secret) return 'a string';
    const shown = redactUrlsIn(v);
    return `the string ${JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown)}`;
  }
  if (typeof v === 'number') return `the number ${v}`;
  return String(v);
}
