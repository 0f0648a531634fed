/**
 * Loss and error curves as a standalone SVG, rewritten beside the checkpoint after each epoch:
 * training loss (left axis), validation top-1 error with the center crop and the ten crops
 * (right axis, percent).
 */
import { writeAtomic } from '../util/atomic-file.js';
import { escapeXml } from '../util/escape-xml.js';
import type { EpochMetrics } from './epoch-metrics.js';

const W = 720;
const H = 400;
const M = { left: 60, right: 60, top: 40, bottom: 50 };

export function curvesSvg(history: readonly EpochMetrics[], title: string): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const n = Math.max(2, history.length);
  const x = (epoch: number) => M.left + ((epoch - 1) / (n - 1)) * pw;
  const maxLoss = Math.max(1e-6, ...history.map((h) => h.trainLoss));
  const maxErr = Math.max(1e-6, ...history.flatMap((h) => [h.val.center.top1, h.val.ten?.top1 ?? 0])) * 1.05;
  const yLoss = (v: number) => M.top + ph - (v / maxLoss) * ph;
  const yErr = (v: number) => M.top + ph - (v / maxErr) * ph;
  const line = (pts: [number, number][], color: string, dash = '') =>
    pts.length === 0
      ? ''
      : `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`;
  const loss = line(history.map((h) => [x(h.epoch), yLoss(h.trainLoss)]), '#1f77b4');
  const center = line(history.map((h) => [x(h.epoch), yErr(h.val.center.top1)]), '#d62728');
  const ten = line(history.filter((h) => h.val.ten).map((h) => [x(h.epoch), yErr(h.val.ten!.top1)]), '#2ca02c', '6,3');
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = M.top + ph - (i / 4) * ph;
    ticks.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    ticks.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end">${((maxLoss * i) / 4).toFixed(2)}</text>`);
    ticks.push(`<text x="${M.left + pw + 6}" y="${y + 4}">${((maxErr * i * 100) / 4).toFixed(1)}%</text>`);
  }
  // At most about 20 epoch labels (every 1, 2, 5, 10, ... epochs), so they never run together.
  const every = [1, 2, 5, 10, 20, 50, 100, 200, 500].find((k) => n / k <= 20) ?? Math.ceil(n / 20);
  for (const h of history) {
    if (h.epoch % every === 0 || h.epoch === 1) ticks.push(`<text x="${x(h.epoch)}" y="${M.top + ph + 18}" text-anchor="middle">${h.epoch}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>
${ticks.join('\n')}
<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">epoch</text>
<text x="14" y="${M.top + ph / 2}" transform="rotate(-90 14 ${M.top + ph / 2})" text-anchor="middle" fill="#1f77b4">training loss</text>
<text x="${W - 12}" y="${M.top + ph / 2}" transform="rotate(90 ${W - 12} ${M.top + ph / 2})" text-anchor="middle" fill="#d62728">validation top-1 error</text>
${loss}
${center}
${ten}
<g transform="translate(${M.left + 10},${M.top + 10})">
<line x1="0" x2="20" y1="0" y2="0" stroke="#1f77b4" stroke-width="2"/><text x="26" y="4">training loss</text>
<line x1="0" x2="20" y1="16" y2="16" stroke="#d62728" stroke-width="2"/><text x="26" y="20">val top-1, center crop</text>
${ten ? '<line x1="0" x2="20" y1="32" y2="32" stroke="#2ca02c" stroke-width="2" stroke-dasharray="6,3"/><text x="26" y="36">val top-1, ten crops</text>\n' : ''}</g>
</svg>
`;
}

export async function writeCurves(file: string, history: readonly EpochMetrics[], title: string): Promise<void> {
  await writeAtomic(file, curvesSvg(history, title));
}
