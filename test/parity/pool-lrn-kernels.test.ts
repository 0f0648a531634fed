/**
 * The project's LRN, LRNGrad and MaxPoolGrad loops (pool-lrn-kernels.ts), which replace
 * tfjs-backend-wasm's own, against oracles written from the formulas (the paper's LRN and its
 * derivative, the max pool's "gradient to the window's maximum") and against tfjs's cpu backend,
 * whose kernels this process never replaces. Then through tfjs on wasm, where the loops read and
 * write the wasm heap.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // registers the gradients
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { PAPER_LRN } from '../../src/config.js';
import { lrnToTfjs } from '../../src/model/lrn.js';
import { lrnGradLoop, lrnLoop, maxPoolGradLoop, registerWasmPoolLrnKernels, type LrnParams } from '../../src/train/pool-lrn-kernels.js';
import { Rng } from '../../src/util/rng.js';
import { maxRelativeError, paperLrn, paperLrnGrad } from '../oracles.js';

const rng = new Rng(77);
const normals = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);
/** ReLU-like activations: half zeros, the rest of order `scale` (large enough that LRN's sum matters). */
const activations = (n: number, scale: number) => normals(n, scale).map((v) => Math.max(0, v));

const PAPER = lrnToTfjs(PAPER_LRN);
const LRN_CASES: { channels: number; p: LrnParams }[] = [
  { channels: 32, p: PAPER },
  { channels: 13, p: PAPER },
  { channels: 3, p: PAPER }, // fewer channels than the window
  { channels: 1, p: PAPER },
  { channels: 10, p: { depthRadius: 1, bias: 1, alpha: 1e-3, beta: 0.5 } },
  { channels: 9, p: { depthRadius: 3, bias: 0.5, alpha: 2e-3, beta: 0.6 } }, // Math.pow path
];

test('LRN loop equals the paper formula (six window/channel/beta cases, relative error <= 1e-6)', (t) => {
  for (const { channels, p } of LRN_CASES) {
    const pixels = 50;
    const x = activations(pixels * channels, 60);
    const y = new Float32Array(x.length);
    lrnLoop(x, y, channels, p);
    const want = paperLrn(x, pixels, channels, 2 * p.depthRadius + 1, p.bias, p.alpha, p.beta);
    const err = maxRelativeError(y, want);
    t.true(err <= 1e-6, `${channels} channels ${JSON.stringify(p)}: ${err}`);
    // The case is not trivial: normalization moves values by more than 10%.
    if (channels > 1) t.true(maxRelativeError(x, want) > 0.1);
  }
});

test('LRN gradient loop equals the derivative of the paper formula and tfjs cpu LRNGrad (relative error <= 1e-5)', async (t) => {
  await tf.setBackend('cpu');
  for (const { channels, p } of LRN_CASES) {
    const shape: [number, number, number, number] = [2, 5, 4, channels];
    const count = shape.reduce((a, b) => a * b);
    const x = activations(count, 60);
    const dy = normals(count);
    const y = new Float32Array(count);
    lrnLoop(x, y, channels, p);
    const dx = new Float32Array(count);
    lrnGradLoop(x, y, dy, dx, channels, p);
    const want = paperLrnGrad(x, dy, channels, p);
    const err = maxRelativeError(dx, want);
    t.true(err <= 1e-5, `paper derivative, ${channels} channels: ${err}`);
    const cpu = tf.tidy(() => {
      const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.localResponseNormalization(v as tf.Tensor4D, p.depthRadius, p.bias, p.alpha, p.beta), tf.tensor(dy, shape)));
      return tf.grad(f)(tf.tensor(x, shape)).dataSync();
    });
    const errCpu = maxRelativeError(dx, cpu);
    t.true(errCpu <= 1e-5, `tfjs cpu, ${channels} channels: ${errCpu}`);
    // The cross-channel term matters: dropping it (dx = dy * n^-beta) is far off.
    if (channels > 1) {
      const diagonalOnly = Float64Array.from(x, (_, i) => (x[i] === 0 ? 0 : (dy[i]! * y[i]!) / x[i]!));
      t.true(maxRelativeError(diagonalOnly, want) > 1e-3, `${channels} channels: the oracle tells the terms apart`);
    }
  }
});

interface PoolCase {
  shape: [number, number, number, number];
  size: number;
  stride: number;
  pad: 'valid' | 'same';
  ties: boolean;
}

/** Max-pool gradient by definition: each window's dy goes to the first (row-major) position holding its maximum. */
function poolGradOracle(x: Float32Array, dy: Float32Array, c: PoolCase, outH: number, outW: number, padTop: number, padLeft: number): Float64Array {
  const [n, h, w, ch] = c.shape;
  const dx = new Float64Array(x.length);
  const at = (b: number, r: number, col: number, k: number) => ((b * h + r) * w + col) * ch + k;
  for (let b = 0; b < n; b++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let k = 0; k < ch; k++) {
          let best = -Infinity;
          let where = -1;
          for (let i = 0; i < c.size; i++) {
            for (let j = 0; j < c.size; j++) {
              const r = oh * c.stride - padTop + i;
              const col = ow * c.stride - padLeft + j;
              if (r < 0 || r >= h || col < 0 || col >= w) continue;
              if (x[at(b, r, col, k)]! > best) {
                best = x[at(b, r, col, k)]!;
                where = at(b, r, col, k);
              }
            }
          }
          dx[where]! += dy[((b * outH + oh) * outW + ow) * ch + k]!;
        }
      }
    }
  }
  return dx;
}

const POOL_CASES: PoolCase[] = [
  { shape: [2, 31, 31, 8], size: 3, stride: 2, pad: 'valid', ties: false }, // mini's conv1 pool
  { shape: [2, 15, 15, 6], size: 3, stride: 2, pad: 'valid', ties: true }, // ReLU zeros: whole windows tie
  { shape: [1, 9, 7, 3], size: 3, stride: 2, pad: 'same', ties: true },
  { shape: [3, 8, 8, 2], size: 2, stride: 2, pad: 'valid', ties: false },
  { shape: [1, 6, 6, 4], size: 3, stride: 1, pad: 'same', ties: true },
];

test('max-pool gradient loop equals the definition and tfjs cpu, ties included (5 cases)', async (t) => {
  await tf.setBackend('cpu');
  for (const c of POOL_CASES) {
    const count = c.shape.reduce((a, b) => a * b);
    // Ties: values on a coarse grid with many ReLU zeros, so windows hold equal maxima.
    const x = c.ties ? normals(count).map((v) => Math.max(0, Math.round(v * 2))) : normals(count);
    const y = tf.tidy(() => tf.maxPool(tf.tensor4d(x, c.shape), c.size, c.stride, c.pad));
    const [, outH, outW] = y.shape;
    const info = tf.backend_util.computePool2DInfo(c.shape, c.size, c.stride, 1, c.pad);
    const dy = normals(y.size);
    const dx = new Float32Array(count);
    maxPoolGradLoop(x, dy, dx, {
      batch: c.shape[0], inHeight: c.shape[1], inWidth: c.shape[2], channels: c.shape[3], outHeight: outH, outWidth: outW,
      filterHeight: c.size, filterWidth: c.size, strideHeight: c.stride, strideWidth: c.stride, padTop: info.padInfo.top, padLeft: info.padInfo.left,
    });
    const want = poolGradOracle(x, dy, c, outH, outW, info.padInfo.top, info.padInfo.left);
    t.true(maxRelativeError(dx, want) <= 1e-6, `definition ${JSON.stringify(c)}: ${maxRelativeError(dx, want)}`);
    const cpu = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, c.size, c.stride, c.pad), tf.tensor(dy, y.shape))))(tf.tensor4d(x, c.shape)).dataSync());
    t.true(maxRelativeError(dx, cpu) <= 1e-6, `tfjs cpu ${JSON.stringify(c)}: ${maxRelativeError(dx, cpu)}`);
    y.dispose();
  }
});

test.serial('on tfjs wasm, LRN and the gradients of LRN -> max pool run on the project loops and equal tfjs cpu', async (t) => {
  const shape: [number, number, number, number] = [4, 15, 15, 16];
  const x = activations(shape.reduce((a, b) => a * b), 60);
  const up = normals(4 * 7 * 7 * 16);
  const p = PAPER;
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const f = (v: tf.Tensor) => {
        const y = tf.maxPool(tf.localResponseNormalization(tf.relu(v as tf.Tensor4D), p.depthRadius, p.bias, p.alpha, p.beta), 3, 2, 'valid');
        return tf.sum(tf.mul(y, tf.tensor(up, y.shape)));
      };
      const xt = tf.tensor4d(x, shape);
      const lrn = tf.localResponseNormalization(xt, p.depthRadius, p.bias, p.alpha, p.beta).dataSync() as Float32Array;
      return { lrn, dx: tf.grad(f)(xt).dataSync() as Float32Array };
    });
  };
  const tfjsOwn = tf.getKernel('LRNGrad', 'wasm')!.kernelFunc;
  registerWasmPoolLrnKernels();
  t.not(tf.getKernel('LRNGrad', 'wasm')!.kernelFunc, tfjsOwn, 'the project kernel replaced tfjs-backend-wasm LRNGrad');
  const want = await run('cpu');
  const got = await run('wasm');
  t.true(maxRelativeError(got.lrn, want.lrn) <= 1e-6, `LRN ${maxRelativeError(got.lrn, want.lrn)}`);
  t.true(maxRelativeError(got.dx, want.dx) <= 1e-5, `gradient ${maxRelativeError(got.dx, want.dx)}`);
  t.true(maxRelativeError(got.lrn, paperLrn(x, 4 * 15 * 15, 16, PAPER_LRN.size, PAPER_LRN.k, PAPER_LRN.alpha, PAPER_LRN.beta)) <= 1e-6);
});
