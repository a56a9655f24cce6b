import { z } from 'zod';
import type { KeyPath } from './interpolate.js';

/** What zod keeps about a schema; read only to describe it, never to validate. */
type Def = Record<string, unknown> & { type: string };
const defOf = (s: z.ZodType): Def => s._zod.def as unknown as Def;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** The schema inside optional/default/nullable/readonly wrappers, a transform's input and a lazy schema. */
export function unwrap(s: z.ZodType): z.ZodType {
  for (let i = 0; i < 20; i++) {
    const def = defOf(s);
    if (WRAPPERS.has(def.type)) s = def.innerType as z.ZodType;
    else if (def.type === 'pipe') s = def.in as z.ZodType;
    else if (def.type === 'lazy') s = (def.getter as () => z.ZodType)();
    else break;
  }
  return s;
}

const basicType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v);

/**
 * The option of a union that `value` is meant for: by the discriminator key
 * (a target's or notifier's `type`), else the object option sharing the most
 * keys with it (a source's kind key), else the first option of its basic type.
 */
export function branchFor(union: z.ZodType, value: unknown): z.ZodType | undefined {
  const def = defOf(union);
  const options = (def.options as z.ZodType[]).map(unwrap);
  const disc = def.discriminator as string | undefined;
  if (disc !== undefined) {
    const v = (value as Record<string, unknown> | undefined)?.[disc];
    return options.find((o) => literalValues(shapeOf(o)?.[disc]).includes(v));
  }
  if (basicType(value) === 'object') {
    const keys = Object.keys(value as object);
    let best: z.ZodType | undefined;
    let score = 0;
    for (const o of options) {
      const shape = shapeOf(o);
      const n = shape ? keys.filter((k) => k in shape).length : 0;
      if (n > score) [best, score] = [o, n];
    }
    if (best) return best;
  }
  return options.find((o) => schemaType(o) === basicType(value));
}

/** The basic JSON type a schema takes: string, number, boolean, array, object. */
function schemaType(s: z.ZodType): string {
  const t = defOf(unwrap(s)).type;
  return t === 'record' ? 'object' : t === 'int' ? 'number' : t;
}

function shapeOf(s: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = defOf(unwrap(s));
  return def.type === 'object' ? (def.shape as Record<string, z.ZodType>) : undefined;
}

function literalValues(s: z.ZodType | undefined): unknown[] {
  if (!s) return [];
  const def = defOf(unwrap(s));
  if (def.type === 'literal') return def.values as unknown[];
  if (def.type === 'enum') return Object.values(def.entries as Record<string, unknown>);
  return [];
}

/**
 * The schema of the key at `path`, following the raw config value so that
 * unions pick the option the value is meant for (a target's options depend
 * on its `type`). Undefined when the path leaves the schema (an unknown key).
 */
export function schemaAt(root: z.ZodType, path: KeyPath, raw: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = root;
  let value = raw;
  for (const seg of path) {
    s = resolveUnion(unwrap(s), value);
    if (!s) return undefined;
    const def = defOf(s);
    if (def.type === 'object') s = (def.shape as Record<string, z.ZodType>)[String(seg)];
    else if (def.type === 'record') s = def.valueType as z.ZodType;
    else if (def.type === 'array') s = def.element as z.ZodType;
    else return undefined;
    if (!s) return undefined;
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[String(seg)] : undefined;
  }
  return s;
}

function resolveUnion(s: z.ZodType, value: unknown): z.ZodType | undefined {
  return defOf(s).type === 'union' ? branchFor(s, value) : s;
}

/** The keys an object (or the option of a union meant for `value`) accepts; every option's keys when none fits. */
export function keysOf(s: z.ZodType | undefined, value: unknown): string[] {
  if (!s) return [];
  const inner = unwrap(s);
  const def = defOf(inner);
  if (def.type === 'union') {
    const branch = branchFor(inner, value);
    if (branch) return keysOf(branch, value);
    return [...new Set((def.options as z.ZodType[]).flatMap((o) => keysOf(o, value)))];
  }
  return Object.keys(shapeOf(inner) ?? {});
}

/** The values a discriminated union accepts for its discriminator (`type`), in order. */
export function discriminatorValues(s: z.ZodType | undefined): unknown[] {
  if (!s) return [];
  const def = defOf(unwrap(s));
  if (def.type !== 'union' || def.discriminator === undefined) return [];
  return (def.options as z.ZodType[]).flatMap((o) => literalValues(shapeOf(o)?.[def.discriminator as string]));
}

/** What a schema accepts, in words: "a number", "a map of last/hourly/…", "one of plain, custom". */
export function describeSchema(s: z.ZodType): string {
  const inner = unwrap(s);
  const def = defOf(inner);
  switch (def.type) {
    case 'string': return (def.format as string | undefined) === 'url' ? 'a URL' : 'a string';
    case 'number': case 'int': case 'bigint': return 'a number';
    case 'boolean': return 'true or false';
    case 'array': return 'a list';
    case 'record': return 'a map';
    case 'literal': case 'enum': return oneOf(literalValues(inner));
    case 'object': {
      const keys = Object.keys(def.shape as object);
      return keys.length && keys.length <= 8 ? `a map of ${keys.join('/')}` : 'a map';
    }
    case 'union': {
      if (def.discriminator !== undefined) return `a map with ${String(def.discriminator)}: ${discriminatorValues(inner).join(', ')}`;
      return [...new Set((def.options as z.ZodType[]).map(describeSchema))].join(' or ');
    }
    default: return `a ${def.type}`;
  }
}

function oneOf(values: unknown[]): string {
  const shown = values.map((v) => JSON.stringify(v));
  return shown.length === 1 ? shown[0]! : `one of ${shown.join(', ')}`;
}
