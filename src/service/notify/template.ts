import { PLACEHOLDER, type Template } from '../../config/notify-template.js';
import { humanSummary, type NotifyPayload } from './payload.js';

/** Every value a placeholder can stand for. */
function fields(p: NotifyPayload): Record<string, unknown> {
  return { ...p, ...humanSummary(p) };
}

/** A value as text inside a string: missing values are empty, objects and lists are JSON. */
function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const WHOLE = new RegExp(`^${PLACEHOLDER.source}$`);

function fill(t: Template, values: Record<string, unknown>): unknown {
  if (typeof t === 'string') {
    // A string that is exactly one placeholder keeps the value's own JSON type (a number, a list).
    const whole = WHOLE.exec(t);
    if (whole) return values[whole[1]!] ?? null;
    return t.replace(PLACEHOLDER, (_m, name: string) => asText(values[name]));
  }
  if (Array.isArray(t)) return t.map((v) => fill(v, values));
  if (t && typeof t === 'object') return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, fill(v, values)]));
  return t;
}

/**
 * The body a webhook `template:` makes for one payload. A text template is
 * sent as text with each `{{name}}` replaced; a map or list is sent as JSON,
 * its strings filled in the same way, so values never break the JSON.
 */
export function renderTemplate(template: Template, payload: NotifyPayload): { body: string; contentType: string } {
  const values = fields(payload);
  if (typeof template === 'string') return { body: template.replace(PLACEHOLDER, (_m, name: string) => asText(values[name])), contentType: 'text/plain; charset=utf-8' };
  return { body: JSON.stringify(fill(template, values)), contentType: 'application/json' };
}
