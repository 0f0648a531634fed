/**
 * Top-1 / top-5 counting against a brute force: each row's classes sorted (ties in class order, as
 * the predictions break them), the true class's place looked up. A row of NaN (what a diverged
 * network answers) is an error, never a hit; so is a tie lost by class order.
 */
import test from 'ava';
import { countErrors } from '../../src/train/count-errors.js';
import { Rng } from '../../src/util/rng.js';

/** Errors by sorting each row (highest first) and finding the first place the true class's value takes. */
function bruteForce(probs: number[][], labels: number[]): { top1: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  probs.forEach((row, i) => {
    if (row.some(Number.isNaN)) {
      top1++;
      top5++;
      return;
    }
    // Classes sorted by score, high to low, ties in class order (a stable sort).
    const order = row.map((_, c) => c).sort((a, b) => row[b]! - row[a]! || a - b);
    const place = order.indexOf(labels[i]!);
    if (place >= 1) top1++;
    if (place >= Math.min(5, row.length)) top5++;
  });
  return { top1, top5 };
}

test('top-1 and top-5 errors equal the sorted brute force, NaN rows counted wrong', (t) => {
  const rng = new Rng(7);
  for (const classes of [3, 5, 10]) {
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 200; i++) {
      const row = Array.from({ length: classes }, () => rng.uniform());
      if (i % 17 === 0) row.fill(Number.NaN);
      rows.push(row);
      labels.push(rng.int(classes));
    }
    const got = countErrors(Float32Array.from(rows.flat()), classes, labels);
    const want = bruteForce(rows.map((r) => Array.from(Float32Array.from(r))), labels);
    t.deepEqual(got, want, `${classes} classes`);
    t.true(want.top1 >= 12, 'the NaN rows are among the errors');
  }
});

test('an all-NaN batch is all errors, not all right', (t) => {
  const probs = new Float32Array(4 * 3).fill(Number.NaN);
  t.deepEqual(countErrors(probs, 3, [0, 1, 2, 0]), { top1: 4, top5: 4 });
});

test('ties count against the model: a uniform answer is right for class 0 only, as its argmax says', (t) => {
  const third = 1 / 3;
  const probs = new Float32Array(6 * 3).fill(third);
  t.deepEqual(countErrors(probs, 3, [0, 1, 2, 0, 1, 2]), { top1: 4, top5: 0 });
  // Eight classes, the true one at exactly 0 with six others: top-5 holds only the first five in class order.
  const row = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual(countErrors(row, 8, [4]), { top1: 1, top5: 0 });
  t.deepEqual(countErrors(row, 8, [5]), { top1: 1, top5: 1 });
});
