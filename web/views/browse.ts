import { api, query, type Archive, type SessionInfo } from '../api.js';
import { h, replace } from '../dom.js';
import { bytes, count, when } from '../format.js';

interface Entry { path: string; type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other'; size: number; mtime?: string }
interface Listing { archive: string; path: string; read_from: string; entries: Entry[] }

/**
 * Inside an archive: one directory at a time from `GET api/archives/:name/entries`
 * (its index sidecar), with checkboxes; "Restore selected…" restores exactly
 * those paths (`only`) into a directory inside restore_root after a confirmation.
 */
export function browseArchive(panel: HTMLElement, a: Archive, target: string, session: SessionInfo): void {
  const selected = new Set<string>();
  const show = (path: string) => {
    replace(panel, `Reading ${a.name}…`);
    api<Listing>(`api/archives/${encodeURIComponent(a.name)}/entries${query({ target, path })}`).then((l) => {
      const up = l.path.includes('/') ? l.path.slice(0, l.path.lastIndexOf('/')) : '';
      const rows = l.entries.map((e) => {
        const box = h('input', { type: 'checkbox', 'aria-label': `select ${e.path}`, checked: selected.has(e.path) });
        box.addEventListener('change', () => { if (box.checked) selected.add(e.path); else selected.delete(e.path); });
        const name = e.path.slice(e.path.lastIndexOf('/') + 1);
        return h('tr', { 'data-entry': e.path },
          h('td', {}, box),
          h('th', { scope: 'row' }, e.type === 'dir' ? h('button', { type: 'button', class: 'link', onclick: () => show(e.path) }, `${name}/`) : name),
          h('td', {}, e.type), h('td', { class: 'num' }, e.type === 'file' ? bytes(e.size) : ''), h('td', {}, when(e.mtime)));
      });
      replace(panel, h('section', { class: 'card browse', 'aria-labelledby': 'browse-h' },
        h('h3', { id: 'browse-h' }, `${a.name}: /${l.path}`),
        h('p', { class: 'reason' }, `${count(l.entries.length)} entries, read from the ${l.read_from === 'index' ? 'index sidecar' : 'archive'}`),
        l.path ? h('button', { type: 'button', onclick: () => show(up) }, 'Up') : null,
        h('div', { class: 'scroll' }, h('table', {}, h('tbody', {}, ...rows))),
        session.restore.allowed ? restoreSelected(a, target, session, selected) : null));
    }, (err: Error) => replace(panel, h('p', { class: 'error', role: 'alert' }, `Cannot list ${a.name}: ${err.message}`)));
  };
  show('');
}

function restoreSelected(a: Archive, target: string, session: SessionInfo, selected: Set<string>): HTMLElement {
  const dir = h('input', { id: 'browse-dir', type: 'text', value: `${a.name.replace(/\.tar\.gz(\.age)?$/, '')}-selection`, required: true });
  const out = h('div', { 'aria-live': 'polite' });
  const go = h('button', { type: 'button', class: 'primary' }, 'Restore selected…');
  go.addEventListener('click', () => {
    if (selected.size === 0) return replace(out, h('p', { class: 'error', role: 'alert' }, 'Select at least one entry.'));
    const where = `${session.restore.root ?? ''}/${dir.value.replace(/^\/+/, '')}`;
    const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, restore');
    replace(out, h('p', { role: 'alert' }, `Writes ${[...selected].join(', ')} from ${a.name} (on ${target}) into ${where}. Continue?`), yes);
    yes.addEventListener('click', () => {
      yes.disabled = true;
      api<{ to: string; files?: number }>('api/restore', { method: 'POST', body: { archive: a.name, from: target, to: dir.value, only: [...selected] } }).then(
        (r) => replace(out, h('p', { class: 'status-ok' }, `Restored into ${r.to}${r.files !== undefined ? ` (${count(r.files)} files)` : ''}.`)),
        (err: Error) => replace(out, h('p', { class: 'error', role: 'alert' }, `Restore refused: ${err.message}`)));
    });
  });
  return h('div', {}, h('label', { for: 'browse-dir' }, `Into (inside ${session.restore.root ?? ''})`), dir, h('div', { class: 'buttons' }, go), out);
}
