import { z } from 'zod';

/**
 * The names a webhook `template:` may use as `{{name}}`: every field of the
 * notification payload, plus `title` and `message`, the human summary the
 * chat notifiers send.
 */
export const TEMPLATE_FIELDS = [
  'kind', 'job', 'host', 'status', 'exit_code', 'run_id', 'archive', 'size', 'description',
  'started', 'ended', 'duration_ms', 'error', 'targets', 'warnings', 'attention', 'title', 'message',
] as const;

/** `{{ name }}`: one placeholder. */
export const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** A template: text sent as it is, or YAML whose string values hold placeholders and which is sent as JSON. */
export type Template = string | number | boolean | null | Template[] | { [key: string]: Template };

const templateValue: z.ZodType<Template> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(templateValue), z.record(z.string(), templateValue)]),
);

/** Every placeholder name used anywhere in `t`. */
function placeholders(t: Template): string[] {
  if (typeof t === 'string') return [...t.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  if (Array.isArray(t)) return t.flatMap(placeholders);
  if (t && typeof t === 'object') return Object.values(t).flatMap(placeholders);
  return [];
}

/** A webhook body template; an unknown `{{name}}` is a config error listing the names there are. */
export const templateSchema = templateValue.superRefine((t, ctx) => {
  const unknown = [...new Set(placeholders(t).filter((n) => !(TEMPLATE_FIELDS as readonly string[]).includes(n)))];
  if (unknown.length) {
    ctx.addIssue({ code: 'custom', message: `unknown placeholder ${unknown.map((n) => `{{${n}}}`).join(', ')}; known: ${TEMPLATE_FIELDS.join(', ')}` });
  }
});
