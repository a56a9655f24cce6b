import { api, query, type Listing, type RunResult, type Status, type TargetInfo } from '../api.js';
import { h, replace } from '../dom.js';
import { bytes, count, duration, relative, when } from '../format.js';
import { HEALTH_LABEL, targetHealth } from '../health.js';
import { runNowButton } from './run-now.js';

export interface TargetRow {
  info: TargetInfo;
  listing: Listing;
  history: Status['targets'][number] | undefined;
}

/** Loads what the overview and a target page show: status, targets and listings (three requests). */
export async function loadTargets(only?: string): Promise<{ status: Status; rows: TargetRow[] }> {
  const [status, targets, archives] = await Promise.all([
    api<Status>('api/status'),
    api<{ targets: TargetInfo[] }>('api/targets'),
    api<{ targets: Listing[] }>(`api/archives${only ? query({ target: only }) : ''}`),
  ]);
  const rows = targets.targets.filter((t) => !only || t.name === only).map((info) => ({
    info,
    listing: archives.targets.find((l) => l.target === info.name) ?? { target: info.name, archives: [], incomplete: 0, foreign: [], warnings: [] },
    history: status.targets.find((s) => s.target === info.name),
  }));
  return { status, rows };
}

export function healthOf(row: TargetRow, now = Date.now()) {
  const newest = row.listing.archives.filter((a) => !a.future).at(-1);
  return targetHealth({
    listingError: row.listing.error, lastPush: row.history?.last, newest: newest ? Date.parse(newest.created) : undefined,
    staleAfterSeconds: row.info.stale_after, now,
  });
}

export function healthBadge(row: TargetRow): HTMLElement {
  const { health, reason } = healthOf(row);
  return h('span', { class: `badge status-${health}`, title: reason }, HEALTH_LABEL[health]);
}

/** What the last run left to look at, in plain words. */
export function attentionList(run: RunResult): HTMLElement | null {
  const items: string[] = [];
  const a = run.attention;
  if (run.error) items.push(run.error);
  for (const t of a?.failed_targets ?? []) items.push(`The archive was not stored on ${t}.`);
  for (const p of a?.failed_prunes ?? []) items.push(`Old archives on ${p.target} could not be pruned: ${p.error}`);
  if (a?.unreadable.length) items.push(`${count(a.unreadable.length)} file(s) could not be read and are not in the archive, for example ${a.unreadable[0]!.path} (${a.unreadable[0]!.message}).`);
  for (const w of run.warnings) items.push(w);
  return items.length ? h('ul', { class: 'warnings' }, ...items.map((i) => h('li', {}, i))) : null;
}

/** The overview. "Run now" stays on the page while the rest is reloaded after a run, so its result remains visible. */
export async function renderOverview(main: HTMLElement): Promise<void> {
  const title = h('h1', { id: 'job-h' });
  const facts = h('div', {});
  const list = h('ul', { class: 'targets' });
  const refresh = async () => {
    const { status, rows } = await loadTargets();
    replace(title, `Job ${status.job}`);
    replace(facts, jobFacts(status));
    replace(list, ...rows.map(targetCard));
  };
  await refresh();
  replace(main,
    h('section', { class: 'card job', 'aria-labelledby': 'job-h' }, title, facts, runNowButton(() => void refresh())),
    h('section', { 'aria-labelledby': 'targets-h' }, h('h2', { id: 'targets-h' }, 'Targets'), list));
}

function jobFacts(status: Status): HTMLElement {
  const last = status.last_run;
  return h('div', {},
    h('dl', {},
      h('dt', {}, 'Last run'), h('dd', {}, last ? `${last.status} · ${when(last.ended)}${last.archive ? ` · ${last.archive}` : ''}` : 'never'),
      h('dt', {}, 'Next run'), h('dd', {}, status.next_run ? `${when(status.next_run)} (${relative(status.next_run)})` : 'no schedule'),
      status.running ? h('dt', {}, 'Running') : null, status.running ? h('dd', {}, status.running) : null),
    last ? attentionList(last) : null);
}

function targetCard(row: TargetRow): HTMLElement {
  const newest = row.listing.archives.filter((a) => !a.future).at(-1);
  const stored = row.listing.archives.reduce((s, a) => s + a.size, 0);
  return h('li', { class: 'card target', 'data-target': row.info.name },
    h('h2', {}, h('a', { href: `#/target/${encodeURIComponent(row.info.name)}` }, row.info.name), ' ', healthBadge(row)),
    h('p', { class: 'reason' }, healthOf(row).reason),
    h('dl', {},
      h('dt', {}, 'Type'), h('dd', {}, row.info.type),
      h('dt', {}, 'Last success'), h('dd', {}, row.history?.last_success ? when(row.history.last_success) : 'never'),
      h('dt', {}, 'Newest archive'), h('dd', {}, newest ? relative(newest.created) : '–'),
      h('dt', {}, 'Archives'), h('dd', { class: 'num' }, count(row.listing.archives.length)),
      h('dt', {}, 'Stored'), h('dd', { class: 'num' }, bytes(stored)),
      h('dt', {}, 'Stale after'), h('dd', {}, duration(row.info.stale_after))),
    ...row.listing.warnings.map((w) => h('p', { class: 'warning' }, w)));
}
