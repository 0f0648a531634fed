/**
 * Top-1 / top-5 errors counted from softmax rows, and the result of evaluating a model on
 * labelled images. Free of tfjs and of the ONNX runtime: the checkpoint evaluation (train/) and the
 * ONNX one (export/) both count with it.
 */

/** Count the rows of `probs` [n, C] whose label is not the top-1 / not among the top-5. */
export function countErrors(probs: Float32Array, classes: number, labels: ArrayLike<number>): { top1: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  const k = Math.min(5, classes);
  for (let i = 0; i < labels.length; i++) {
    const row = probs.subarray(i * classes, (i + 1) * classes);
    const label = labels[i]!;
    const target = row[label]!;
    // Rank of the true class among the scores sorted high to low, ties in class order (as
    // argmaxRows breaks them): a tie never counts in the model's favour, so a network answering
    // the same score for every class is right only for class 0, as its predictions say. A row with
    // a NaN (a diverged network) is wrong: compared with NaN nothing is higher.
    let above = Number.isNaN(target) ? classes : 0;
    for (let c = 0; c < classes; c++) if (row[c]! > target || (row[c] === target && c < label) || Number.isNaN(row[c]!)) above++;
    if (above >= 1) top1++;
    if (above >= k) top5++;
  }
  return { top1, top5 };
}

/** The top-1 class of each row of `probs` [n, C]. */
export function argmaxRows(probs: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(probs.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}

export interface EvalResult {
  /** The top-1 class (the model's label index) of each image, in the data's order. */
  predictions: Int32Array;
  /** The true class of each image as the model's label index, in the same order. */
  truth: Int32Array;
  /** The model's labels, by label index. */
  classes: string[];
  /** The class folder each label was trained from (models trained with --labels), by label index. */
  classIds?: string[];
  /** The images evaluated, in words (where from, which split, how many). */
  data: string;
  top1: number;
  top5: number;
  count: number;
  mode: 'center' | 'ten';
  runtime: string;
}

/** Errors and predictions of an evaluation, added batch by batch. */
export class EvalTally {
  private readonly predictions: Int32Array;
  private top1 = 0;
  private top5 = 0;

  /** `labels`: every image's label as the model's label index. */
  constructor(private readonly labels: Int32Array, private readonly classes: number) {
    this.predictions = new Int32Array(labels.length);
  }

  /** The softmax rows [n, C] of images start..start+n-1. */
  add(probs: Float32Array, start: number, n: number): void {
    const e = countErrors(probs, this.classes, this.labels.subarray(start, start + n));
    this.predictions.set(argmaxRows(probs, this.classes), start);
    this.top1 += e.top1;
    this.top5 += e.top5;
  }

  result(mode: EvalResult['mode'], runtime: string, classes: string[], data: string, classIds?: string[]): EvalResult {
    const count = this.labels.length;
    return { predictions: this.predictions, truth: this.labels, classes, ...(classIds ? { classIds } : {}), data, top1: this.top1 / count, top5: this.top5 / count, count, mode, runtime };
  }
}
