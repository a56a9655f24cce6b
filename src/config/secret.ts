import { z } from 'zod';
import { redactUrlsIn } from '../util/redact-url.js';

/**
 * Secret option names. Each secret `x` also accepts `x_file`, and its value
 * is redacted wherever config is printed. Schemas declare secrets through
 * `secret()`, so the list is always complete.
 */
export const SECRET_NAMES = new Set<string>();

/** Declares a secret option `name` plus its `name_file` twin. An empty or whitespace-only value is a config error. */
export function secret<N extends string>(name: N, description: string) {
  SECRET_NAMES.add(name);
  return {
    [name]: z.string().regex(/\S/, `${name} is empty; set a non-empty value (or remove the key)`).optional().describe(`${description} (secret; never logged)`),
    [`${name}_file`]: z.string().min(1).optional().describe(`File whose contents are ${name}`),
  } as { [K in N]: z.ZodOptional<z.ZodString> } & { [K in `${N}_file`]: z.ZodOptional<z.ZodString> };
}

/** Replaces every value of a secret key with a placeholder, and credentials and queries of URLs in any value, for printing. */
export function redact<T>(value: T): T {
  if (typeof value === 'string') return redactUrlsIn(value) as T;
  if (Array.isArray(value)) return value.map(redact) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_NAMES.has(k) && v !== undefined ? '***' : redact(v);
    return out as T;
  }
  return value;
}
