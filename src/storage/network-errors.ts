/**
 * The one rule for "the server could not be reached": every adapter's error
 * conversion asks it, so the same failure is retryable everywhere or nowhere.
 */

/** Exact errno / client codes that mean the network path failed. */
const EXACT = new Set(['ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_NOT_CONNECTED']);
/** Code prefixes: ECONNREFUSED/RESET/ABORTED, EHOSTUNREACH/DOWN, ENETUNREACH/DOWN/RESET, undici's UND_ERR_*. */
const PREFIXES = ['ECONN', 'EHOST', 'ENET', 'UND_ERR_'];

/** True when `code` is a network failure code. */
export function isNetworkCode(code: unknown): code is string {
  return typeof code === 'string' && (EXACT.has(code) || PREFIXES.some((p) => code.startsWith(p)));
}

/**
 * The first network failure code found on `err`, its `cause` chain or the
 * members of an AggregateError (Node's happy-eyeballs connect); undefined
 * when none of them is a network failure. Cycles are followed at most once.
 */
export function networkErrorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (isNetworkCode(code)) return code;
    queue.push((e as { cause?: unknown }).cause);
    const members = (e as { errors?: unknown }).errors;
    if (Array.isArray(members)) queue.push(...members);
  }
  return undefined;
}
