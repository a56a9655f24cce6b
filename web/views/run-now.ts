import { api, type RunRecord, type RunResult } from '../api.js';
import { h, replace } from '../dom.js';
import { bytes } from '../format.js';
import { waitForRun } from '../poll.js';

const STATUS_TEXT: Record<RunResult['status'], string> = { success: 'Success', partial: 'Stored, needs attention', failure: 'Failed' };

/** The run's outcome in plain words: status, archive, and what went wrong per target. */
export function runOutcome(r: RunRecord): HTMLElement {
  const res = r.result;
  if (!res) return h('p', { class: 'status-failing' }, `Failed: ${r.error ?? 'the run did not start'} (exit ${r.exit_code ?? '?'})`);
  return h('div', {},
    h('p', { class: `status-${res.status === 'success' ? 'ok' : res.status === 'partial' ? 'stale' : 'failing'}` },
      `${STATUS_TEXT[res.status]} (exit ${r.exit_code})`, res.archive ? `: ${res.archive}` : '', res.size !== undefined ? `, ${bytes(res.size)}` : ''),
    res.error ? h('p', {}, res.error) : null,
    h('ul', {}, ...res.targets.map((t) => h('li', {}, `${t.target}: ${t.status === 'success' ? `stored ${bytes(t.bytes)}` : t.status === 'skipped' ? `skipped: ${t.reason ?? 'not there'}` : `failed: ${t.error ?? t.error_code ?? 'unknown error'}`}`, t.prune_error ? `; prune failed: ${t.prune_error}` : ''))));
}

/**
 * "Run now": starts a run through `POST api/runs`, shows its progress from
 * the run record (updated from the run's progress events) until it has
 * finished, then its result, and calls `onDone`.
 */
export function runNowButton(onDone: () => void): HTMLElement {
  const out = h('div', { class: 'run-progress', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'primary' }, 'Run now');
  button.addEventListener('click', () => {
    button.disabled = true;
    replace(out, 'Starting…');
    api<{ id: string }>('api/runs', { method: 'POST', body: {} })
      .then(({ id }) => waitForRun(id, (rec) => replace(out, progressView(rec))))
      .then((rec) => { replace(out, h('h3', {}, 'Run finished'), runOutcome(rec)); onDone(); })
      .catch((err: Error) => replace(out, h('p', { class: 'error', role: 'alert' }, `Cannot run: ${err.message}`)))
      .finally(() => { button.disabled = false; });
  });
  return h('div', { class: 'run-now' }, button, out);
}

function progressView(r: RunRecord): HTMLElement {
  const p = r.progress;
  const bar = h('progress', { max: p.estimate ?? '', value: p.estimate ? Math.min(p.archive_read, p.estimate) : '' });
  bar.setAttribute('aria-label', 'Bytes read');
  return h('div', {},
    h('p', {}, `Running: read ${bytes(p.archive_read)}${p.estimate ? ` of about ${bytes(p.estimate)}` : ''}, archive ${bytes(p.archive_written)}`), bar,
    h('ul', {}, ...Object.entries(p.targets).map(([t, b]) => h('li', {}, `${t}: ${bytes(b)} sent`))));
}
