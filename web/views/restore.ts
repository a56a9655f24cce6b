import { api, type Archive, type Manifest, type SessionInfo } from '../api.js';
import { h, replace } from '../dom.js';
import { count } from '../format.js';

const defaultDir = (archive: string) => archive.replace(/\.tar\.gz(\.age)?$/, '');

/**
 * The restore form: which source (or all), which directory inside
 * `restore_root`; it shows the resulting path, and restores only after a
 * second, explicit confirmation. The server still checks everything
 * (allow_restore, the root, a non-empty destination needs "replace").
 */
export function restoreForm(a: Archive, target: string, manifest: Manifest, session: SessionInfo, close: () => void): HTMLElement {
  const root = session.restore.root ?? '';
  const source = h('select', { id: 'restore-source' },
    h('option', { value: '' }, 'Every source'),
    ...manifest.sources.map((s) => h('option', { value: s.as }, `${s.as} (${s.kind}, ${count(s.files)} files)`)));
  const dir = h('input', { id: 'restore-dir', type: 'text', value: defaultDir(a.name), required: true });
  const force = h('input', { id: 'restore-force', type: 'checkbox' });
  const preview = h('p', { class: 'preview' });
  const result = h('div', { 'aria-live': 'polite' });
  const where = () => `${root}/${dir.value.replace(/^\/+/, '')}`;
  const describe = () => replace(preview, source.value ? `Writes ${source.value} from ${a.name} (on ${target}) to ${where()}/${source.value}` : `Writes every source of ${a.name} (on ${target}) into ${where()}`, force.checked ? ', replacing same-named files.' : '.');
  source.addEventListener('change', describe);
  dir.addEventListener('input', describe);
  force.addEventListener('change', describe);
  describe();
  const confirmBox = h('div', { class: 'confirm' });
  const form = h('form', { class: 'card restore', 'aria-labelledby': 'restore-h' },
    h('h3', { id: 'restore-h' }, `Restore ${a.name}`),
    h('label', { for: 'restore-source' }, 'What'), source,
    h('label', { for: 'restore-dir' }, `Into (inside ${root})`), dir,
    h('label', { class: 'check' }, force, ' Replace same-named files in a non-empty directory'),
    preview,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Restore…'), h('button', { type: 'button', onclick: close }, 'Cancel')),
    confirmBox, result);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, restore');
    replace(confirmBox, h('p', { role: 'alert' }, `${preview.textContent} Continue?`), yes, h('button', { type: 'button', onclick: () => replace(confirmBox) }, 'No'));
    yes.focus();
    yes.addEventListener('click', () => {
      yes.disabled = true;
      replace(result, 'Restoring…');
      const body = { archive: a.name, from: target, to: dir.value, force: force.checked, ...(source.value ? { source: source.value } : {}) };
      api<{ to: string; files?: number }>('api/restore', { method: 'POST', body }).then(
        (r) => { replace(confirmBox); replace(result, h('p', { class: 'status-ok' }, `Restored into ${r.to}${r.files !== undefined ? ` (${count(r.files)} files)` : ''}.`)); },
        (err: Error) => { replace(confirmBox); replace(result, h('p', { class: 'error', role: 'alert' }, `Restore refused: ${err.message}`)); });
    });
  });
  return form;
}
