const VAR_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type KeyPath = (string | number)[];

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of `value`.
 * `$$` stands for a literal `$`. A missing variable without a default is
 * reported through `onMissing` at the key that used it; no value is echoed.
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (path: KeyPath, variable: string) => void,
  path: KeyPath = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR_RE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const v = env[name!];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      onMissing(path, name!);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, onMissing, [...path, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, onMissing, [...path, k]);
    return out;
  }
  return value;
}
