/**
 * The project's WGSL kernels (src/train/webgpu-*.ts) on a real WebGPU adapter, against oracles
 * written from the definitions in double precision (test/oracles.ts): the split-K filter gradient, the LRN gradient, and tfjs's matrix-product input gradient
 * that registerWebgpuKernels switches on. In CI the adapter is lavapipe (Mesa >= 24, which
 * .ci/run installs): the kernels' WGSL runs as written, only on the CPU. Skipped, with the reason,
 * where no adapter exists.
 */
import test, { type ExecutionContext } from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { PAPER_LRN } from '../../src/config.js';
import { lrnToTfjs } from '../../src/model/lrn.js';
import { probeTrainingBackends, useBackend } from '../../src/train/backends.js';
import { registerWebgpuKernels } from '../../src/train/webgpu-kernels.js';
import { planSplitK } from '../../src/train/webgpu-filter-grad.js';
import { Rng } from '../../src/util/rng.js';
import { maxRelativeError, naiveFilterGradient, naiveInputGradient, paperLrn, paperLrnGrad } from '../oracles.js';

const webgpu = (await probeTrainingBackends()).find((b) => b.name === 'webgpu')!;
const gpuTest = (title: string, body: (t: ExecutionContext) => Promise<void>) =>
  webgpu.available ? test.serial(title, body) : test.skip(`${title} [skipped: no WebGPU adapter here: ${webgpu.detail.slice(0, 160)}]`, body);

const rng = new Rng(424);
const normals = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

interface ConvCase {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  stride: [number, number];
  pad: number | 'same' | 'valid';
}

/** Output size and the top/left padding, from the definitions of 'valid', 'same' and explicit padding. */
function geometry(c: ConvCase) {
  const [, h, w] = c.x;
  const out = (size: number, k: number, s: number) =>
    c.pad === 'same' ? Math.ceil(size / s) : c.pad === 'valid' ? Math.floor((size - k) / s) + 1 : Math.floor((size + 2 * c.pad - k) / s) + 1;
  const oh = out(h, c.k[0], c.stride[0]);
  const ow = out(w, c.k[1], c.stride[1]);
  const before = (size: number, o: number, k: number, s: number) =>
    c.pad === 'same' ? Math.floor(Math.max((o - 1) * s + k - size, 0) / 2) : c.pad === 'valid' ? 0 : c.pad;
  return { oh, ow, top: before(h, oh, c.k[0], c.stride[0]), left: before(w, ow, c.k[1], c.stride[1]) };
}

/** One kernel on the current backend, inputs given as [values, shape]; its output read back. */
async function runKernel(name: string, inputs: Record<string, [Float32Array, readonly number[]]>, attrs: object): Promise<Float32Array> {
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, [v, shape]]) => [k, tf.tensor(v, [...shape])]));
  const out = tf.engine().runKernel(name, tensors, attrs as never) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  tf.dispose([out, ...Object.values(tensors)]);
  return values;
}

const CONV_CASES: ConvCase[] = [
  // The paper's conv1 at batch 2: M = 363, N = 96 (neither a multiple of 64), K = 6050 in slices.
  { x: [2, 227, 227, 3], k: [11, 11], co: 96, stride: [4, 4], pad: 'valid' },
  // conv2's shape (one group of 48 channels in, 128 out), padding 2.
  { x: [2, 27, 27, 48], k: [5, 5], co: 128, stride: [1, 1], pad: 2 },
  { x: [3, 13, 13, 40], k: [3, 3], co: 70, stride: [1, 1], pad: 1 },
  { x: [1, 9, 14, 5], k: [3, 5], co: 7, stride: [2, 3], pad: 'same' },
  { x: [2, 6, 5, 1], k: [1, 1], co: 1, stride: [1, 1], pad: 'valid' },
  { x: [4, 31, 29, 16], k: [5, 5], co: 33, stride: [2, 2], pad: 0 },
];

test('the split-K plan covers K exactly, in slices of whole 16-wide steps', (t) => {
  for (const [m, n, k] of [[363, 96, 387200], [1200, 128, 93312], [2304, 384, 21632], [7, 1, 5], [64, 64, 256], [1, 1, 1e6]] as const) {
    const p = planSplitK(m, n, k);
    t.is(p.slice % 16, 0, `${m}x${n}x${k}`);
    t.true(p.splits * p.slice >= k && (p.splits - 1) * p.slice < k, `${m}x${n}x${k}: ${JSON.stringify(p)}`);
    t.is(p.tilesM, Math.ceil(m / 64));
    t.is(p.tilesN, Math.ceil(n / 64));
  }
});

gpuTest('webgpu filter gradient (project split-K kernel) equals the definition in double precision (relative error <= 1e-5)', async (t) => {
  await useBackend('webgpu');
  for (const c of CONV_CASES) {
    const { oh, ow, top, left } = geometry(c);
    const dyShape = [c.x[0], oh, ow, c.co] as const;
    const xs = normals(c.x.reduce((a, b) => a * b));
    const dys = normals(dyShape.reduce((a, b) => a * b));
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.co];
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape };
    const want = naiveFilterGradient(xs, c.x, dys, dyShape, c.k, c.stride, top, left);
    const e = maxRelativeError(await runKernel('Conv2DBackpropFilter', { x: [xs, c.x], dy: [dys, dyShape] }, attrs), want);
    t.true(e <= 1e-5, `${JSON.stringify(c)}: ${e}`);
    t.log(`${JSON.stringify(c.x)} k${c.k} s${c.stride} pad ${c.pad} -> ${c.co}: ${e.toExponential(2)}`);
  }
});

for (const choice of ['matmul', 'conv'] as const) {
  const what = choice === 'matmul' ? "tfjs's matrix-product program" : "tfjs's forward convolution of the rotated filter (stride 1; conv1's stride 4 falls back)";
  gpuTest(`webgpu input gradient, inputGradient '${choice}' (${what}), equals the definition in double precision (relative error <= 1e-5)`, async (t) => {
    await useBackend('webgpu');
    registerWebgpuKernels({ inputGradient: choice });
    t.is(tf.env().getBool('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE'), choice !== 'matmul');
    // conv1's case only where it costs little: tfjs's matrix-product program takes 18 s on lavapipe
    // for it (3 input channels leave its tiles almost empty), and training never asks for it.
    for (const c of choice === 'conv' ? CONV_CASES : CONV_CASES.slice(1)) {
      const { oh, ow, top, left } = geometry(c);
      const dyShape = [c.x[0], oh, ow, c.co] as const;
      const ws = normals(c.k[0] * c.k[1] * c.x[3] * c.co);
      const dys = normals(dyShape.reduce((a, b) => a * b));
      const attrs = { inputShape: c.x, strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
      const want = naiveInputGradient(ws, c.x, dys, dyShape, c.k, c.stride, top, left);
      const e = maxRelativeError(await runKernel('Conv2DBackpropInput', { dy: [dys, dyShape], filter: [ws, [c.k[0], c.k[1], c.x[3], c.co]] }, attrs), want);
      t.true(e <= 1e-5, `${JSON.stringify(c)}: ${e}`);
    }
    registerWebgpuKernels();
  });
}

gpuTest('webgpu LRN gradient (project kernel) equals the derivative of the paper formula (relative error <= 1e-5)', async (t) => {
  await useBackend('webgpu');
  const cases = [
    { channels: 96, p: lrnToTfjs(PAPER_LRN) },
    { channels: 13, p: lrnToTfjs(PAPER_LRN) },
    { channels: 3, p: lrnToTfjs(PAPER_LRN) }, // fewer channels than the window
    { channels: 1, p: lrnToTfjs(PAPER_LRN) },
    { channels: 9, p: { depthRadius: 3, bias: 0.5, alpha: 2e-3, beta: 0.6 } },
  ];
  for (const { channels, p } of cases) {
    const shape: [number, number, number, number] = [2, 5, 4, channels];
    const count = shape.reduce((a, b) => a * b);
    const xs = normals(count).map((v) => Math.max(0, v * 60)); // ReLU outputs, large enough that the sum matters
    const dys = normals(count);
    const ys = Float32Array.from(paperLrn(xs, count / channels, channels, 2 * p.depthRadius + 1, p.bias, p.alpha, p.beta));
    const got = await runKernel('LRNGrad', { x: [xs, shape], y: [ys, shape], dy: [dys, shape] }, p);
    const want = paperLrnGrad(xs, dys, channels, p);
    const e = maxRelativeError(got, want);
    t.true(e <= 1e-5, `${channels} channels ${JSON.stringify(p)}: ${e}`);
  }
});
