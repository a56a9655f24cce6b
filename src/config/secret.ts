import { z } from 'zod';

/**
 * Secret options are marked on their own schema, in this registry: the
 * loader's `*_file` reading and redaction are derived from the schema that
 * holds them (`secretKeys`), so a secret cannot be declared without being
 * treated as one. `file` names the option's `*_file` twin.
 */
export const secretOptions = z.registry<{ file: string }>();

/** Declares a secret option `name` plus its `name_file` twin. An empty or whitespace-only value is a config error. */
export function secret<N extends string>(name: N, description: string) {
  const value = z.string().regex(/\S/, `${name} is empty; set a non-empty value (or remove the key)`).optional().describe(`${description} (secret; never logged)`);
  return {
    [name]: value.register(secretOptions, { file: `${name}_file` }),
    [`${name}_file`]: z.string().min(1).optional().describe(`File whose contents are ${name}`),
  } as { [K in N]: z.ZodOptional<z.ZodString> } & { [K in `${N}_file`]: z.ZodOptional<z.ZodString> };
}

/** The names of every secret option anywhere in `schema` (objects, unions, arrays, optional and default values). */
export function secretKeys(schema: z.ZodType): ReadonlySet<string> {
  const found = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (s: unknown): void => {
    if (!(s instanceof z.ZodType) || seen.has(s)) return;
    seen.add(s);
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'object') {
      for (const [key, option] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        if (secretOptions.has(option)) found.add(key);
        walk(option);
      }
    }
    for (const inner of ['innerType', 'element', 'in', 'out', 'valueType', 'left', 'right']) walk(def[inner]);
    if (Array.isArray(def.options)) def.options.forEach(walk);
    if (def.type === 'lazy') walk((def.getter as () => unknown)());
  };
  walk(schema);
  return found;
}
