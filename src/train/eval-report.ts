/**
 * The report of `alexnet eval --report DIR`: per-class precision, recall, F1 and support, their
 * macro and weighted averages, and the confusion matrix, from an evaluation's true and predicted
 * classes. Free of tfjs and of the ONNX runtime: both evaluators' results go through it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../util/atomic-file.js';
import { confusionSvg } from './confusion-svg.js';
import type { EvalResult } from './count-errors.js';

export interface ClassScores {
  label: string;
  /** The class folder it was trained from, for a model trained with --labels (ImageNet names two synsets 'crane'). */
  classId?: string;
  /** Right among the images predicted as this class; 0 when none was. */
  precision: number;
  /** Right among the images of this class; 0 when the data has none. */
  recall: number;
  /** 2·TP / (2·TP + FP + FN), the harmonic mean of the two; 0 when the class is neither in the data nor predicted. */
  f1: number;
  /** Images of this class in the data. */
  support: number;
  /** Images predicted as this class. */
  predicted: number;
}

export interface Averages {
  precision: number;
  recall: number;
  f1: number;
}

export interface EvalReport {
  model: string;
  data: string;
  mode: EvalResult['mode'];
  runtime: string;
  count: number;
  top1Error: number;
  top5Error: number;
  accuracy: number;
  classes: ClassScores[];
  /** Unweighted mean over the classes the data has (support > 0): a model of 1000 classes evaluated on 10 is judged on those 10. */
  macro: Averages & { classes: number };
  /** Mean weighted by support. */
  weighted: Averages;
  /** Rows: the true class; columns: the predicted class; both in `labels` order. */
  confusion: { rows: 'true class'; columns: 'predicted class'; labels: string[]; classIds?: string[]; matrix: number[][] };
}

/** counts[t][p]: images of true class t predicted as p. */
export function confusionMatrix(truth: ArrayLike<number>, predictions: ArrayLike<number>, classes: number): number[][] {
  if (truth.length !== predictions.length) throw new RangeError(`${truth.length} true classes for ${predictions.length} predictions`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]!]![predictions[i]!]!++;
  return m;
}

/** Each class's scores from a confusion matrix; no division by zero (see ClassScores). */
export function classScores(matrix: readonly (readonly number[])[], labels: readonly string[]): ClassScores[] {
  return labels.map((label, c) => {
    const tp = matrix[c]![c]!;
    const support = matrix[c]!.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[c]!, 0);
    const denominator = support + predicted;
    return {
      label,
      precision: predicted > 0 ? tp / predicted : 0,
      recall: support > 0 ? tp / support : 0,
      // 2TP + FP + FN = support + predicted: zero only for a class absent from the data and never predicted.
      f1: denominator > 0 ? (2 * tp) / denominator : 0,
      support,
      predicted,
    };
  });
}

export function averages(scores: readonly ClassScores[]): { macro: Averages & { classes: number }; weighted: Averages } {
  const present = scores.filter((s) => s.support > 0);
  const total = present.reduce((a, s) => a + s.support, 0);
  const mean = (key: keyof Averages, weight: (s: ClassScores) => number, sum: number) => (sum > 0 ? present.reduce((a, s) => a + weight(s) * s[key], 0) / sum : 0);
  const avg = (weight: (s: ClassScores) => number, sum: number): Averages => ({ precision: mean('precision', weight, sum), recall: mean('recall', weight, sum), f1: mean('f1', weight, sum) });
  return { macro: { ...avg(() => 1, present.length), classes: present.length }, weighted: avg((s) => s.support, total) };
}

export function evalReport(result: EvalResult, model: string): EvalReport {
  const matrix = confusionMatrix(result.truth, result.predictions, result.classes.length);
  const scores = classScores(matrix, result.classes);
  const classes = result.classIds ? scores.map(({ label, ...rest }, c) => ({ label, classId: result.classIds![c]!, ...rest })) : scores;
  return {
    model,
    data: result.data,
    mode: result.mode,
    runtime: result.runtime,
    count: result.count,
    top1Error: result.top1,
    top5Error: result.top5,
    accuracy: 1 - result.top1,
    classes,
    ...averages(classes),
    confusion: { rows: 'true class', columns: 'predicted class', labels: result.classes, ...(result.classIds ? { classIds: result.classIds } : {}), matrix },
  };
}

/** The report as indented JSON, each row of the confusion matrix on one line (1000 classes would otherwise take a million lines). */
export function reportJson(report: EvalReport): string {
  const placeholder = '"<matrix>"';
  const text = JSON.stringify({ ...report, confusion: { ...report.confusion, matrix: JSON.parse(placeholder) } }, null, 1);
  const rows = report.confusion.matrix.map((r) => `   ${JSON.stringify(r)}`).join(',\n');
  return text.replace(placeholder, `[\n${rows}\n  ]`) + '\n';
}

/** Write DIR/report.json and DIR/confusion.svg; returns their paths. */
export async function writeEvalReport(dir: string, report: EvalReport): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const json = path.join(dir, 'report.json');
  const svg = path.join(dir, 'confusion.svg');
  const mode = report.mode === 'ten' ? 'ten crops' : 'center crop';
  const title = `${path.basename(report.model)} on ${report.data}: ${mode}, top-1 error ${(100 * report.top1Error).toFixed(2)}%`;
  await writeAtomic(json, reportJson(report));
  // A label two classes share (ImageNet's two 'crane' synsets) is told apart by its class folder.
  const { labels, classIds } = report.confusion;
  const twice = new Set(labels.filter((l, i) => labels.indexOf(l) !== i));
  const shown = labels.map((l, i) => (twice.has(l) && classIds ? `${l} (${classIds[i]})` : l));
  await writeAtomic(svg, confusionSvg(shown, report.confusion.matrix, title));
  return [json, svg];
}
