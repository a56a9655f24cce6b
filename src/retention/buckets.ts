/**
 * Calendar buckets for retention rules (README: Retention): hour, day, ISO week, month
 * and year of an instant, read in an IANA time zone. Two instants share a
 * bucket exactly when their labels are equal, so a label doubles as the key
 * and as the human-readable part of a keep reason.
 */
export type BucketUnit = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

export const BUCKET_UNITS: readonly BucketUnit[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];

export type BucketLabels = Record<BucketUnit, string>;

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The formatter for a zone (`undefined` = the process's local zone, which
 * honours `TZ`). Throws a RangeError naming the zone when it is unknown.
 */
function formatterFor(timezone: string | undefined): Intl.DateTimeFormat {
  const key = timezone ?? '';
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: timezone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
      });
    } catch (err) {
      throw new RangeError(`unknown time zone ${JSON.stringify(timezone)}`, { cause: err });
    }
    formatters.set(key, f);
  }
  return f;
}

/** Wall-clock year, month, day and hour of `date` in `timezone`. */
export function wallClock(date: Date, timezone?: string): { year: number; month: number; day: number; hour: number } {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timezone).formatToParts(date)) {
    if (p.type === 'year' || p.type === 'month' || p.type === 'day' || p.type === 'hour') parts[p.type] = Number(p.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24 };
}

/** ISO 8601 week-numbering year and week of a civil date (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const d = new Date(Date.UTC(year, month - 1, day));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const weekYear = d.getUTCFullYear();
  const week = Math.floor((d.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 / 7) + 1;
  return { year: weekYear, week };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * Bucket labels of `date` in `timezone`, e.g. hourly `2026-11-20 14:00`,
 * daily `2026-11-20`, weekly `2026-W47`, monthly `2026-11`, yearly `2026`.
 */
export function bucketLabels(date: Date, timezone?: string): BucketLabels {
  const { year, month, day, hour } = wallClock(date, timezone);
  const iso = isoWeek(year, month, day);
  const ymd = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
  return {
    hourly: `${ymd} ${pad(hour)}:00`,
    daily: ymd,
    weekly: `${pad(iso.year, 4)}-W${pad(iso.week)}`,
    monthly: `${pad(year, 4)}-${pad(month)}`,
    yearly: pad(year, 4),
  };
}
