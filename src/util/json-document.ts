/**
 * The one shape of every JSON document Ferry writes for people and scripts:
 * `ferry ... --json`, the REST API, notification payloads and the state
 * files (`last_run.json`, `history.jsonl`). Keys are snake_case, and each
 * document carries `format_version` (this constant) and `exit_code`.
 *
 * Internal types keep their camelCase fields; they are converted here, at
 * the boundary, on the way out (`toDocument`, `snakeKeys`) and on the way
 * back in (`fromDocument`), so state files written before the conversion
 * (camelCase) still read.
 */
export const FORMAT_VERSION = 1;

/**
 * Keys whose value, when it is a map rather than a list, is keyed by names
 * the user chose (target names, command names, unit file names) or carries
 * foreign data: those keys are never renamed, their values are converted.
 */
const NAMED_MAPS = new Set(['targets', 'units', 'commands', 'meta', 'headers']);

const IDENT = /^[a-z][A-Za-z0-9]*$/;
const SNAKE_IDENT = /^[a-z][a-z0-9_]*$/;

/** `durationMs` → `duration_ms`; keys that are not plain identifiers are left as they are. */
export function snakeKey(key: string): string {
  return IDENT.test(key) ? key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase() : key;
}

/** `duration_ms` → `durationMs` (and camelCase stays camelCase). */
export function camelKey(key: string): string {
  return SNAKE_IDENT.test(key) ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

function convert(value: unknown, rename: (key: string) => string, keepKeys = false): unknown {
  if (Array.isArray(value)) return value.map((v) => convert(v, rename));
  if (value === null || typeof value !== 'object' || value instanceof Date) return value instanceof Date ? value.toISOString() : value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const named = NAMED_MAPS.has(k) && v !== null && typeof v === 'object' && !Array.isArray(v);
    out[keepKeys ? k : rename(k)] = convert(v, rename, named);
  }
  return out;
}

/** A deep copy of `value` with every key in snake_case (maps of user-chosen names keep their keys). */
export function snakeKeys<T>(value: T): unknown {
  return convert(value, snakeKey);
}

/**
 * The document for `value`: `format_version` first, the value's fields in
 * snake_case, then `exit_code` (given, else the value's own, else null).
 */
export function toDocument(value: unknown, exitCode?: number | null): Record<string, unknown> {
  const body = snakeKeys(value);
  const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : { result: body };
  const { format_version: _v, exit_code: own, ...rest } = fields;
  return { format_version: FORMAT_VERSION, ...rest, exit_code: exitCode ?? own ?? null };
}

/**
 * Reads a document back into the internal (camelCase) shape: snake_case
 * and camelCase keys both work, `format_version` and `exit_code` at the top
 * are dropped.
 */
export function fromDocument<T>(doc: unknown): T {
  const value = convert(doc, camelKey) as Record<string, unknown>;
  if (value && typeof value === 'object') {
    delete value.formatVersion;
    delete value.exitCode;
  }
  return value as T;
}
