import { redactUrlsIn } from '../util/redact-url.js';
import { configSchema } from './schema.js';
import { secretKeys } from './secret.js';

/** Every option the config schema marks as secret. */
const SECRETS = secretKeys(configSchema);

/** Replaces every value of a secret option with a placeholder, and credentials and queries of URLs in any value, for printing. */
export function redact<T>(value: T): T {
  if (typeof value === 'string') return redactUrlsIn(value) as T;
  if (Array.isArray(value)) return value.map(redact) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRETS.has(k) && v !== undefined ? '***' : redact(v);
    return out as T;
  }
  return value;
}
