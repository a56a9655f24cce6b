import type { Archive } from './api.js';
import { svg } from './dom.js';
import { bytes, when } from './format.js';

const H = 240;
const PAD = { left: 72, right: 16, top: 16, bottom: 40 };

/**
 * Size over time as plain SVG: one bar per archive (its size) and a line
 * for the target's total (the archives it holds now, summed up to each
 * date). Scales are linear in time and bytes; labels use the browser's
 * locale. Each point has a <title> for a tooltip. `W` is the width it is
 * drawn for (the space it gets), so that its labels keep their size on a phone.
 */
export function sizeChart(archives: Archive[], W = 640): SVGElement {
  const points = archives.filter((a) => !a.future).map((a) => ({ t: Date.parse(a.created), size: a.size, name: a.name }));
  let total = 0;
  const totals = points.map((p) => (total += p.size));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `Archive sizes and the target's total over time, ${points.length} archives, total ${bytes(total)}` });
  if (points.length === 0) return root;
  const t0 = points[0]!.t;
  const t1 = points.at(-1)!.t;
  const max = Math.max(total, 1);
  const x = (t: number) => PAD.left + (t1 === t0 ? (W - PAD.left - PAD.right) / 2 : ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right));
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  for (const f of [0, 0.5, 1]) {
    root.append(
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, bytes(max * f)),
    );
  }
  root.append(svg('text', { x: PAD.left, y: H - 12, class: 'axis' }, when(new Date(t0).toISOString())));
  if (t1 !== t0) root.append(svg('text', { x: W - PAD.right, y: H - 12, 'text-anchor': 'end', class: 'axis' }, when(new Date(t1).toISOString())));
  const barWidth = Math.max(2, Math.min(18, (W - PAD.left - PAD.right) / points.length / 2));
  points.forEach((p) => {
    root.append(svg('rect', { x: x(p.t) - barWidth / 2, y: y(p.size), width: barWidth, height: Math.max(1, H - PAD.bottom - y(p.size)), class: 'bar' },
      svg('title', {}, `${p.name}: ${bytes(p.size)}`)));
  });
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(totals[i]!).toFixed(1)}`).join(' ');
  root.append(svg('path', { d: path, class: 'total' }));
  points.forEach((p, i) => root.append(svg('circle', { cx: x(p.t), cy: y(totals[i]!), r: 3, class: 'total-point' }, svg('title', {}, `total after ${p.name}: ${bytes(totals[i]!)}`))));
  return root;
}
