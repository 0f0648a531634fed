/**
 * A confusion matrix as a standalone SVG heat map: rows the true class, columns the predicted
 * class, each cell shaded by its share of its row (so a rare class reads as well as a common
 * one), counts written in the cells while they are large enough to read. Only non-empty cells
 * are drawn, so 1000 classes stay a valid (if dense) picture of modest size.
 */
import { escapeXml } from '../util/escape-xml.js';

const PLOT = 640;
const MAX_CELL = 48;
const FONT = 12;
/** Average glyph width of the 12px sans-serif, to size the margins from the labels. */
const CHAR = 6.6;
const MAX_CHARS = 24;
const COLOR = '#08519c';

export function confusionSvg(labels: readonly string[], matrix: readonly (readonly number[])[], title: string): string {
  const n = labels.length;
  const cell = Math.min(MAX_CELL, PLOT / n);
  const side = cell * n;
  // Every label while they fit, else every k-th so they never run together (the slanted ones need 1.5 lines apart).
  const every = Math.max(1, Math.ceil((1.5 * FONT) / cell));
  const short = labels.map((l) => (l.length > MAX_CHARS ? `${l.slice(0, MAX_CHARS - 1)}…` : l));
  const shown = short.filter((_, i) => i % every === 0);
  const longest = Math.max(1, ...shown.map((l) => l.length)) * CHAR;
  const left = 40 + longest;
  const top = 50;
  const bottom = 40 + longest * Math.SQRT1_2;
  const legend = 90;
  const W = Math.ceil(left + side + legend);
  const H = Math.ceil(top + side + bottom);
  const f = (v: number) => Number(v.toFixed(2));
  const parts: string[] = [];
  const rows = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const withCounts = cell >= 24;
  const withTitles = n <= 100;
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) {
      const count = matrix[t]![p]!;
      if (count === 0) continue;
      const share = count / rows[t]!;
      const x = f(left + p * cell);
      const y = f(top + t * cell);
      const tip = withTitles ? `<title>${escapeXml(`${labels[t]} predicted as ${labels[p]}: ${count} (${(100 * share).toFixed(1)}% of ${labels[t]})`)}</title>` : '';
      parts.push(`<rect x="${x}" y="${y}" width="${f(cell)}" height="${f(cell)}" fill="${COLOR}" fill-opacity="${share.toFixed(3)}">${tip}</rect>`);
      if (withCounts) {
        const fill = share > 0.5 ? 'white' : '#222';
        parts.push(`<text x="${f(x + cell / 2)}" y="${f(y + cell / 2 + 4)}" text-anchor="middle" fill="${fill}" font-size="${Math.min(FONT, Math.floor(cell / 3.2))}">${count}</text>`);
      }
    }
  }
  const axes: string[] = [];
  for (let i = 0; i < n; i += every) {
    const c = f(top + (i + 0.5) * cell + 4);
    axes.push(`<text x="${left - 6}" y="${c}" text-anchor="end">${escapeXml(short[i]!)}</text>`);
    const x = f(left + (i + 0.5) * cell);
    const y = f(top + side + 12);
    axes.push(`<text x="${x}" y="${y}" transform="rotate(-45 ${x} ${y})" text-anchor="end">${escapeXml(short[i]!)}</text>`);
  }
  const grid: string[] = [];
  if (cell >= 10) {
    for (let i = 1; i < n; i++) {
      const v = f(i * cell);
      grid.push(`<line x1="${left}" x2="${f(left + side)}" y1="${f(top + v)}" y2="${f(top + v)}" stroke="#eee"/>`);
      grid.push(`<line x1="${f(left + v)}" x2="${f(left + v)}" y1="${top}" y2="${f(top + side)}" stroke="#eee"/>`);
    }
  }
  const lx = f(left + side + 24);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="${FONT}">
<defs><linearGradient id="share" x1="0" x2="0" y1="1" y2="0"><stop offset="0" stop-color="${COLOR}" stop-opacity="0"/><stop offset="1" stop-color="${COLOR}" stop-opacity="1"/></linearGradient></defs>
<rect width="100%" height="100%" fill="white"/>
<text x="${f(W / 2)}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>
<rect x="${left}" y="${top}" width="${f(side)}" height="${f(side)}" fill="white" stroke="#999"/>
${grid.join('\n')}
${parts.join('\n')}
${axes.join('\n')}
<text x="14" y="${f(top + side / 2)}" transform="rotate(-90 14 ${f(top + side / 2)})" text-anchor="middle">true class</text>
<text x="${f(left + side / 2)}" y="${H - 10}" text-anchor="middle">predicted class</text>
<rect x="${lx}" y="${top}" width="14" height="${f(side)}" fill="url(#share)" stroke="#999"/>
<text x="${f(lx + 18)}" y="${top + 10}">100%</text>
<text x="${f(lx + 18)}" y="${f(top + side)}">0%</text>
<text x="${f(lx + 40)}" y="${f(top + side / 2)}" transform="rotate(90 ${f(lx + 40)} ${f(top + side / 2)})" text-anchor="middle">share of the true class</text>
</svg>
`;
}
