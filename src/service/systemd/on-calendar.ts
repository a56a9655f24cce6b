import { UsageError } from '../../errors.js';

/**
 * Converts a cron expression (5 fields, or 6 with seconds first, or a
 * nickname like `@daily`) to a systemd `OnCalendar=` value in `timezone`.
 * Cron features systemd cannot express the same way (`L`, `W`, `#`, `?`,
 * and day-of-month together with day-of-week, which cron ORs and systemd
 * ANDs) are refused with exit 2 so the user can write `--on-calendar`.
 */
export function cronToOnCalendar(expression: string, timezone?: string): string {
  const nick: Record<string, string> = {
    '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
    '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
  };
  const text = nick[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) refuse(expression, 'expected 5 or 6 fields');
  const [sec, min, hour, dom, mon, dow] = parts.length === 6 ? parts : ['0', ...parts];
  const seconds = expand(sec!, 0, 59, expression);
  const minutes = expand(min!, 0, 59, expression);
  const hours = expand(hour!, 0, 23, expression);
  const days = expand(dom!, 1, 31, expression);
  const months = expand(mon!, 1, 12, expression, MONTHS);
  const weekdays = expand(dow!, 0, 7, expression, DAYS).map((d) => d % 7);
  const dowAll = new Set(weekdays).size === 7;
  if (dom !== '*' && !dowAll) refuse(expression, 'cron runs when day-of-month OR day-of-week matches; systemd needs both');
  const dayPart = dowAll ? '' : `${renderDays([...new Set(weekdays)].sort((a, b) => a - b))} `;
  const date = `*-${render(months, 1, 12, false)}-${render(days, 1, 31, false)}`;
  const time = `${render(hours, 0, 23, true)}:${render(minutes, 0, 59, true)}:${render(seconds, 0, 59, true)}`;
  return `${dayPart}${date} ${time}${timezone ? ` ${timezone}` : ''}`;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const SYSTEMD_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function refuse(expression: string, why: string): never {
  throw new UsageError(`cannot turn the schedule "${expression}" into a systemd timer (${why}); pass --on-calendar`);
}

/** Every value a cron field selects, sorted. Names (jan, mon) are accepted where `names` is given. */
function expand(field: string, lo: number, hi: number, expression: string, names?: string[]): number[] {
  const num = (s: string): number => {
    const i = names?.indexOf(s.toLowerCase()) ?? -1;
    const n = i >= 0 ? i + (names === MONTHS ? 1 : 0) : /^\d+$/.test(s) ? Number(s) : NaN;
    if (Number.isNaN(n) || n < lo || n > hi) refuse(expression, `"${s}" is out of range or not supported (L, W, # and ? have no systemd equivalent)`);
    return n;
  };
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [range, stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) refuse(expression, `bad step in "${item}"`);
    let a: number;
    let b: number;
    if (range === '*') [a, b] = [lo, hi];
    else if (range!.includes('-')) [a, b] = range!.split('-').map(num) as [number, number];
    else [a, b] = [num(range!), stepText === undefined ? num(range!) : hi];
    if (a > b) refuse(expression, `"${item}" runs backwards`);
    for (let v = a; v <= b; v += step) out.add(v);
  }
  return [...out].sort((x, y) => x - y);
}

/** `*`, `start/step`, or a list with runs of three or more as `a..b`. */
function render(values: number[], lo: number, hi: number, pad: boolean): string {
  const fmt = (v: number) => (pad ? String(v).padStart(2, '0') : String(v));
  if (values.length === hi - lo + 1) return '*';
  if (values.length > 2) {
    const step = values[1]! - values[0]!;
    const progression = values.every((v, i) => v === values[0]! + i * step);
    if (progression && step > 1 && values.at(-1)! + step > hi) return `${fmt(values[0]!)}/${step}`;
  }
  return runs(values).map(([a, b]) => (b - a >= 2 ? `${fmt(a)}..${fmt(b)}` : a === b ? fmt(a) : `${fmt(a)},${fmt(b)}`)).join(',');
}

function renderDays(days: number[]): string {
  return runs(days).map(([a, b]) => (b - a >= 2 ? `${SYSTEMD_DAYS[a]}..${SYSTEMD_DAYS[b]}` : a === b ? SYSTEMD_DAYS[a]! : `${SYSTEMD_DAYS[a]},${SYSTEMD_DAYS[b]}`)).join(',');
}

function runs(values: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    const last = out.at(-1);
    if (last && v === last[1] + 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}
