/** The eval report against a brute-force count, and its confusion matrix picture as well-formed SVG. */
import test from 'ava';
import sharp from 'sharp';
import { confusionSvg } from '../../src/train/confusion-svg.js';
import type { EvalResult } from '../../src/train/count-errors.js';
import { promises as fs } from 'node:fs';
import { evalReport, reportJson, writeEvalReport } from '../../src/train/eval-report.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  text: string;
}

/** A strict little XML reader written for this test: throws on an unbalanced tag, a stray '<' or '&', a bad attribute; returns every element. */
function parseXml(xml: string): XmlElement[] {
  const all: XmlElement[] = [];
  const open: XmlElement[] = [];
  const checkText = (s: string) => {
    if (/[<>]|&(?!(amp|lt|gt|quot|#39);)/.test(s)) throw new Error(`bad character data: ${s.slice(0, 40)}`);
  };
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  let at = 0;
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const between = xml.slice(at, m.index);
    checkText(between);
    if (open.length > 0) open.at(-1)!.text += unescape(between);
    else if (between.trim() !== '') throw new Error('text outside the root');
    at = m.index! + m[0].length;
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      if (open.pop()?.name !== name) throw new Error(`</${name}> closes nothing open`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      checkText(a[2]!);
      if (a[1]! in attrs) throw new Error(`attribute ${a[1]} twice`);
      attrs[a[1]!] = unescape(a[2]!);
    }
    if (open.length === 0 && all.length > 0) throw new Error('a second root');
    const el = { name: name!, attrs, text: '' };
    all.push(el);
    if (!selfClosing) open.push(el);
  }
  if (open.length > 0) throw new Error(`<${open.at(-1)!.name}> is never closed`);
  if (xml.slice(at).trim() !== '') throw new Error('text after the root');
  return all;
}

/** Six classes: class 4 is never predicted, class 5 never in the data (but predicted). */
function randomResult(seed: number): EvalResult {
  const rng = new Rng(seed);
  const n = 500;
  const truth = new Int32Array(n);
  const predictions = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    truth[i] = Math.floor(rng.uniform() * 5);
    const p = rng.uniform() < 0.6 ? truth[i]! : Math.floor(rng.uniform() * 6);
    predictions[i] = p === 4 ? 5 : p;
  }
  return { predictions, truth, classes: ['a', 'b', 'c', 'd', 'never predicted', 'not in the data'], data: 'random', top1: 0.4, top5: 0, count: n, mode: 'center', runtime: 'test' };
}

test('precision, recall, F1, support and the confusion matrix equal a brute-force count', (t) => {
  for (const seed of [1, 2, 3]) {
    const r = randomResult(seed);
    const report = evalReport(r, 'm.onnx');
    const C = r.classes.length;
    const images = [...r.truth].map((y, i) => ({ y, p: r.predictions[i]! }));
    for (let a = 0; a < C; a++) {
      for (let b = 0; b < C; b++) t.is(report.confusion.matrix[a]![b], images.filter((x) => x.y === a && x.p === b).length);
    }
    const macro: number[] = [];
    let weightedF1 = 0;
    for (let c = 0; c < C; c++) {
      const tp = images.filter((x) => x.y === c && x.p === c).length;
      const fp = images.filter((x) => x.y !== c && x.p === c).length;
      const fn = images.filter((x) => x.y === c && x.p !== c).length;
      const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
      const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
      const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
      const got = report.classes[c]!;
      t.is(got.label, r.classes[c]);
      t.is(got.support, tp + fn);
      t.is(got.predicted, tp + fp);
      t.true(Math.abs(got.precision - precision) < 1e-12, `precision of ${c}`);
      t.true(Math.abs(got.recall - recall) < 1e-12, `recall of ${c}`);
      t.true(Math.abs(got.f1 - f1) < 1e-12, `F1 of ${c}: ${got.f1} vs ${f1}`);
      if (tp + fn > 0) macro.push(f1);
      weightedF1 += (f1 * (tp + fn)) / images.length;
    }
    // Never predicted: precision 0 (no division by zero), so F1 0. Not in the data: recall 0, F1 0, and not in the macro average.
    t.like(report.classes[4], { predicted: 0, precision: 0, f1: 0 });
    t.like(report.classes[5], { support: 0, recall: 0, precision: 0, f1: 0 });
    t.true(report.classes[5]!.predicted > 0);
    t.is(report.macro.classes, 5);
    t.true(Math.abs(report.macro.f1 - macro.reduce((a, b) => a + b, 0) / macro.length) < 1e-12);
    t.true(Math.abs(report.weighted.f1 - weightedF1) < 1e-12);
    t.deepEqual(JSON.parse(reportJson(report)), JSON.parse(JSON.stringify(report)));
  }
});

test('a class neither in the data nor predicted: every score 0, none NaN', (t) => {
  const r: EvalResult = { ...randomResult(1), truth: Int32Array.from([0, 1, 1]), predictions: Int32Array.from([0, 1, 0]), classes: ['a', 'b', 'ghost'], count: 3 };
  const report = evalReport(r, 'm');
  t.deepEqual(report.classes[2], { label: 'ghost', precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 });
  t.false(reportJson(report).includes('null'), 'no NaN (JSON null) anywhere');
});

test("ImageNet's two 'crane' synsets: each report row names its class folder, and the SVG tells the two apart", async (t) => {
  const classIds = ['n01440764', 'n02012849', 'n03126707'];
  const r: EvalResult = { ...randomResult(1), truth: Int32Array.from([0, 1, 2, 2]), predictions: Int32Array.from([0, 2, 2, 1]), classes: ['tench, Tinca tinca', 'crane', 'crane'], classIds, count: 4 };
  const report = evalReport(r, 'paper.onnx');
  t.deepEqual(report.classes.map((c) => [c.label, c.classId, c.support, c.predicted]), [
    ['tench, Tinca tinca', 'n01440764', 1, 1],
    ['crane', 'n02012849', 1, 1],
    ['crane', 'n03126707', 2, 2],
  ]);
  t.deepEqual(JSON.parse(reportJson(report)).confusion.classIds, classIds);
  const dir = await tempDir('report-crane');
  await writeEvalReport(dir, report);
  const texts = parseXml(await fs.readFile(`${dir}/confusion.svg`, 'utf8')).filter((e) => e.name === 'text').map((e) => e.text);
  for (const l of ['crane (n02012849)', 'crane (n03126707)', 'tench, Tinca tinca']) t.true(texts.includes(l), l);
});

test('the little XML reader of this test refuses what is not well-formed', (t) => {
  t.is(parseXml('<svg a="1"><text>x &amp; y</text><rect/></svg>').length, 3);
  for (const bad of ['<svg><text>a</svg>', '<svg><text>a < b</text></svg>', '<svg><text>a & b</text></svg>', '<svg a="1" a="2"></svg>', '<svg></svg><svg></svg>']) t.throws(() => parseXml(bad), undefined, bad);
});

test('the confusion SVG is well-formed XML with a cell per non-empty pair, its labels and counts', async (t) => {
  const labels = ['T-shirt/top', 'Trouser', 'a <b> & "c"', 'tench, Tinca tinca'];
  const matrix = [
    [5, 0, 1, 0],
    [0, 7, 0, 0],
    [2, 0, 3, 4],
    [0, 0, 0, 0],
  ];
  const svg = confusionSvg(labels, matrix, 'title & more');
  const elements = parseXml(svg);
  t.is(elements[0]!.name, 'svg');
  // librsvg (through sharp) reads and draws it.
  t.is((await sharp(Buffer.from(svg)).metadata()).format, 'svg');
  const cells = elements.filter((e) => e.name === 'rect' && e.attrs.fill === '#08519c');
  t.is(cells.length, matrix.flat().filter((v) => v > 0).length);
  // Row-normalized: 4 of the 9 images of the third class.
  t.true(cells.some((r) => Number(r.attrs['fill-opacity']).toFixed(3) === (4 / 9).toFixed(3)));
  const texts = elements.filter((e) => e.name === 'text').map((e) => e.text);
  for (const l of labels) t.is(texts.filter((x) => x === l).length, 2, `${l} on both axes`);
  for (const v of matrix.flat().filter((v) => v > 0)) t.true(texts.includes(String(v)), `count ${v}`);
  t.true(texts.includes('title & more'));

  // 1000 classes: still well-formed, one cell per non-empty pair, no count text in the cells.
  const n = 1000;
  const big = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 3 : (i * 7 + j) % 997 === 0 ? 1 : 0)));
  const dense = confusionSvg(Array.from({ length: n }, (_, i) => `n${i} label ${i}`), big, 'dense');
  const denseElements = parseXml(dense);
  t.is(denseElements.filter((e) => e.name === 'rect' && e.attrs.fill === '#08519c').length, big.flat().filter((v) => v > 0).length);
  t.false(denseElements.some((e) => e.name === 'text' && e.text === '3'), 'no counts in cells too small to read');
  t.true(denseElements.some((e) => e.name === 'text' && e.text === 'n0 label 0'));
});
