import { api, type Archive, type Manifest, type PrunePlan, type SessionInfo, type VerifyReport } from '../api.js';
import { sizeChart } from '../chart.js';
import { h, replace } from '../dom.js';
import { bytes, count, when } from '../format.js';
import { attentionList, healthBadge, healthOf, loadTargets } from './overview.js';
import { browseArchive } from './browse.js';
import { restoreForm } from './restore.js';

const format = (a: Archive) => a.level !== undefined ? String(a.level) : a.name.endsWith('.age') ? 'tar.gz.age' : 'tar.gz';

/** One target: its archives with Verify and Restore, the size chart, and the retention plan of `prune --dry-run`. */
export async function renderTarget(main: HTMLElement, name: string, session: SessionInfo): Promise<void> {
  const [{ status, rows }, plan] = await Promise.all([
    loadTargets(name),
    api<PrunePlan>('api/prune', { method: 'POST', body: { dry_run: true, targets: [name] } }).catch((err: Error): PrunePlan => ({ targets: [{ target: name, error: err.message }] })),
  ]);
  const row = rows[0];
  if (!row) {
    replace(main, h('h1', {}, 'No such target'), h('p', {}, `${name} is not in the config.`), h('a', { href: '#/' }, 'Back to the overview'));
    return;
  }
  const archives = row.listing.archives;
  const panel = h('div', { class: 'action-panel', 'aria-live': 'polite' });
  const verify = (a: Archive) => {
    replace(panel, h('p', {}, `Verifying ${a.name}…`));
    api<{ ok: boolean; reports: VerifyReport[] }>('api/verify', { method: 'POST', body: { archive: a.name, target: name } }).then(
      (r) => replace(panel, ...r.reports.map((rep) => h('p', { class: rep.ok ? 'status-ok' : 'status-failing' },
        rep.ok ? `Verified ${rep.archive ?? a.name} on ${rep.target}: ${count(rep.files ?? 0)} files, ${bytes(rep.bytes ?? 0)}${rep.contents_read === false ? ' (stored bytes only: no key to decrypt)' : ''}`
          : `Verification failed on ${rep.target}: ${rep.error ?? 'unknown error'}`))),
      (err: Error) => replace(panel, h('p', { class: 'error', role: 'alert' }, `Cannot verify: ${err.message}`)));
  };
  const restore = (a: Archive) => {
    replace(panel, 'Loading the archive\'s sources…');
    api<Manifest>(`api/archives/${encodeURIComponent(name)}/${encodeURIComponent(a.name)}`).then(
      (m) => { replace(panel, restoreForm(a, name, m, session, () => replace(panel))); panel.querySelector('select')?.focus(); },
      (err: Error) => replace(panel, h('p', { class: 'error', role: 'alert' }, `Cannot read the manifest: ${err.message}`)));
  };
  const table = h('table', { class: 'archives' },
    h('caption', {}, `${count(archives.length)} complete archive(s), oldest first`),
    h('thead', {}, h('tr', {}, ...['Archive', 'Format', 'Size', 'Created', 'Encrypted', 'Description', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...archives.map((a) => h('tr', { 'data-archive': a.name },
      h('th', { scope: 'row' }, a.name), h('td', { 'data-label': 'Format' }, format(a)), h('td', { class: 'num', 'data-label': 'Size' }, bytes(a.size)),
      h('td', { 'data-label': 'Created' }, when(a.created), a.future ? ' (dated in the future)' : ''), h('td', { 'data-label': 'Encrypted' }, a.encrypted ? 'yes' : 'no'),
      h('td', { 'data-label': 'Description' }, a.description ?? ''),
      h('td', { class: 'actions' },
        h('button', { type: 'button', onclick: () => verify(a) }, 'Verify'),
        h('button', { type: 'button', onclick: () => browseArchive(panel, a, name, session) }, 'Browse'),
        session.restore.allowed ? h('button', { type: 'button', onclick: () => restore(a) }, 'Restore…') : null)))));
  const planFor = plan.targets.find((t) => t.target === name);
  const planView = planFor?.error ? h('p', { class: 'error' }, `No plan: ${planFor.error}`)
    : h('table', { class: 'plan' },
      h('caption', {}, 'What prune would do now (prune --dry-run)'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Archive'), h('th', { scope: 'col' }, 'Action'), h('th', { scope: 'col' }, 'Why'))),
      h('tbody', {}, ...(planFor?.plan ?? []).map((d) => h('tr', { 'data-plan': d.name },
        h('th', { scope: 'row' }, d.name), h('td', { class: d.action === 'delete' ? 'status-stale' : '' }, d.action), h('td', {}, d.reasons.join('; '))))));
  const lastPush = row.history?.last;
  replace(main,
    h('p', {}, h('a', { href: '#/' }, '← Overview')),
    h('h1', {}, `Target ${name} `, healthBadge(row)),
    h('p', { class: 'reason' }, `${row.info.type} · ${healthOf(row).reason}${lastPush ? ` · last push ${lastPush.status}` : ''}`),
    row.listing.error ? h('p', { class: 'error' }, row.listing.error) : null,
    status.last_run && status.last_run.targets.some((t) => t.target === name) ? attentionList(status.last_run) : null,
    h('section', { 'aria-labelledby': 'size-h' }, h('h2', { id: 'size-h' }, 'Size over time'), sizeChart(archives, Math.round(Math.max(320, Math.min(960, main.clientWidth - 34)))),
      h('p', { class: 'legend' }, h('span', { class: 'key bar' }), ' archive size ', h('span', { class: 'key total' }), ' total stored')),
    h('section', { 'aria-labelledby': 'archives-h' }, h('h2', { id: 'archives-h' }, 'Archives'), h('div', { class: 'scroll' }, table), panel),
    h('section', { 'aria-labelledby': 'plan-h' }, h('h2', { id: 'plan-h' }, 'Retention plan'), h('div', { class: 'scroll' }, planView)));
}
