/**
 * The two layers tfjs does not give directly, against naive loops written from the paper:
 * LRN (§3.3, with the paper's constants through lrnToTfjs) and the two-group convolution.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PAPER_LRN } from '../../src/config.js';
import { lrnToOnnx, lrnToTfjs } from '../../src/model/lrn.js';
import { Rng } from '../../src/util/rng.js';
import { groupedConv2d } from '../../src/train/network.js';
import { maxRelativeError, paperLrn } from '../oracles.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

function randomArray(n: number, rng: Rng, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

test("LRN through lrnToTfjs equals the paper's formula (k=2, n=5, alpha=1e-4, beta=0.75)", (t) => {
  const rng = new Rng(11);
  const [n, h, w, c] = [2, 4, 3, 13];
  // Activations large enough (ReLU outputs of order 10-100) that the sum term matters.
  const a = randomArray(n * h * w * c, rng, 60).map(Math.abs);
  const want = paperLrn(a, n * h * w, c, PAPER_LRN.size, PAPER_LRN.k, PAPER_LRN.alpha, PAPER_LRN.beta);
  const p = lrnToTfjs(PAPER_LRN);
  const got = tf.tidy(() => tf.localResponseNormalization(tf.tensor4d(a, [n, h, w, c]), p.depthRadius, p.bias, p.alpha, p.beta).dataSync());
  const err = maxRelativeError(got, want);
  t.log(`max relative error ${err.toExponential(2)}`);
  t.true(err < 1e-5, `relative error ${err}`);
  // The normalization is not negligible at this scale: the oracle differs from the input by > 10%.
  t.true(maxRelativeError(a, want) > 0.1);
});

test('lrnToOnnx multiplies alpha by n: ONNX divides it by size (SPEC.md §2)', (t) => {
  t.deepEqual(lrnToOnnx(PAPER_LRN), { size: 5, alpha: 5e-4, beta: 0.75, bias: 2 });
  t.throws(() => lrnToTfjs({ ...PAPER_LRN, size: 4 }), { message: /odd/ });
});

/** Direct grouped convolution: x [N,H,W,C] NHWC, w [kh,kw,C/g,F], symmetric zero padding. */
function naiveGroupedConv(
  x: Float32Array, [n, h, w, c]: number[],
  k: Float32Array, [kh, kw, , f]: number[],
  b: Float32Array, stride: number, pad: number, groups: number,
): { data: Float64Array; shape: number[] } {
  const oh = Math.floor((h + 2 * pad - kh!) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - kw!) / stride) + 1;
  const cg = c! / groups;
  const fg = f! / groups;
  const out = new Float64Array(n! * oh * ow * f!);
  for (let b0 = 0; b0 < n!; b0++)
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++)
        for (let o = 0; o < f!; o++) {
          const g = Math.floor(o / fg);
          let sum = b[o]!;
          for (let dy = 0; dy < kh!; dy++)
            for (let dx = 0; dx < kw!; dx++) {
              const iy = y * stride + dy - pad;
              const ix = xo * stride + dx - pad;
              if (iy < 0 || iy >= h! || ix < 0 || ix >= w!) continue;
              for (let ci = 0; ci < cg; ci++) {
                sum += x[((b0 * h! + iy) * w! + ix) * c! + g * cg + ci]! * k[((dy * kw! + dx) * cg + ci) * f! + o]!;
              }
            }
          out[((b0 * oh + y) * ow + xo) * f! + o] = sum;
        }
  return { data: out, shape: [n!, oh, ow, f!] };
}

for (const [groups, stride, pad] of [[2, 1, 2], [2, 2, 1], [1, 4, 0], [2, 1, 0]] as const) {
  test(`groupedConv2d equals a direct loop convolution (groups ${groups}, stride ${stride}, pad ${pad})`, (t) => {
    const rng = new Rng(100 + groups * 10 + stride + pad);
    const xs = [2, 9, 11, 6];
    // Square kernels, as in every preset (tfjs sizes numeric padding from the kernel height alone).
    const ws = [5, 5, 6 / groups, 8];
    const x = randomArray(xs.reduce((a, v) => a * v), rng, 1);
    const w = randomArray(ws.reduce((a, v) => a * v), rng, 1);
    const b = randomArray(8, rng, 1);
    const want = naiveGroupedConv(x, xs, w, ws, b, stride, pad, groups);
    const got = tf.tidy(() => {
      const y = groupedConv2d(tf.tensor4d(x, xs as [number, number, number, number]), tf.tensor4d(w, ws as [number, number, number, number]), tf.tensor1d(b), stride, pad, groups);
      return { shape: y.shape, data: y.dataSync() };
    });
    t.deepEqual(got.shape, want.shape);
    const err = maxRelativeError(got.data, want.data);
    t.true(err < 1e-5, `relative error ${err}`);
  });
}

test('a grouped convolution is not the ungrouped one (the oracle can tell them apart)', (t) => {
  const rng = new Rng(5);
  const xs = [1, 5, 5, 4];
  const ws = [3, 3, 2, 4];
  const x = randomArray(20 * 5, rng, 1);
  const w = randomArray(72, rng, 1);
  const b = new Float32Array(4);
  const grouped = naiveGroupedConv(x, xs, w, ws, b, 1, 1, 2);
  // The same kernels applied to the wrong halves (group order swapped) give another answer.
  const swapped = tf.tidy(() => {
    const xt = tf.tensor4d(x, xs as [number, number, number, number]);
    const [a, c] = tf.split(xt, 2, 3);
    return groupedConv2d(tf.concat([c!, a!], 3) as tf.Tensor4D, tf.tensor4d(w, ws as [number, number, number, number]), tf.tensor1d(b), 1, 1, 2).dataSync();
  });
  t.true(maxRelativeError(swapped, grouped.data) > 0.1);
});
