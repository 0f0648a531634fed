/**
 * The project's convolution-gradient kernels on wasm (which has no Conv2DBackpropFilter) against
 * the cpu backend's own gradient kernels, over random shapes, strides 1/2/4, same/valid/explicit
 * padding, batch 1 and > 1. This process never registers the project's kernels on cpu, so the
 * reference is tfjs's own loop implementation.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerConvGradKernels } from '../../src/train/conv-grad-kernels.js';
import { registerWasmMatMul } from '../../src/train/matmul-kernel.js';
import { Rng } from '../../src/util/rng.js';
import { maxRelativeError } from '../oracles.js';

interface Case {
  x: number[];
  k: number;
  ci: number;
  co: number;
  stride: number;
  pad: 'same' | 'valid' | number;
}

async function gradients(backend: string, c: Case, xs: Float32Array, ws: Float32Array, upstream: Float32Array | null): Promise<{ dx: Float32Array; dw: Float32Array; dyShape: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
    const w = tf.tensor4d(ws, [c.k, c.k, c.ci, c.co]);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
      // A fixed random upstream gradient, so every output position carries its own weight.
      const g = upstream ? tf.tensor(upstream, y.shape) : tf.onesLike(y);
      return tf.sum(tf.mul(y, g));
    };
    const [dx, dw] = tf.grads(f)([x, w]);
    const y = tf.conv2d(x, w, c.stride, c.pad);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array, dyShape: y.shape };
  });
}

const rng = new Rng(2024);
const cases: Case[] = [];
for (const stride of [1, 2, 4]) {
  for (const pad of ['same', 'valid', 0, 1, 2] as const) {
    for (const batch of [1, 3]) {
      const k = [1, 3, 5, 11][rng.int(4)]!;
      const h = k + stride * (1 + rng.int(4)) + rng.int(3);
      const w = k + stride * (1 + rng.int(4)) + rng.int(3) + 1; // non-square
      cases.push({ x: [batch, h, w, 1 + rng.int(5)], k, ci: 0, co: 1 + rng.int(7), stride, pad });
    }
  }
}
for (const c of cases) c.ci = c.x[3]!;

test.before(() => {
  registerConvGradKernels('wasm');
  registerWasmMatMul();
});

test.serial(`wasm filter and input gradients equal cpu's (relative error <= 1e-4) over ${cases.length} random cases`, async (t) => {
  let worstW = 0;
  let worstX = 0;
  for (const c of cases) {
    const xs = Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, () => rng.normal());
    const ws = Float32Array.from({ length: c.k * c.k * c.ci * c.co }, () => rng.normal());
    const probe = await gradients('cpu', c, xs, ws, null);
    const up = Float32Array.from({ length: probe.dyShape.reduce((a, b) => a * b) }, () => rng.normal());
    const ref = await gradients('cpu', c, xs, ws, up);
    const got = await gradients('wasm', c, xs, ws, up);
    const ew = maxRelativeError(got.dw, ref.dw);
    const ex = maxRelativeError(got.dx, ref.dx);
    worstW = Math.max(worstW, ew);
    worstX = Math.max(worstX, ex);
    t.true(ew <= 1e-4, `filter gradient ${JSON.stringify(c)}: ${ew}`);
    t.true(ex <= 1e-4, `input gradient ${JSON.stringify(c)}: ${ex}`);
  }
  t.log(`worst relative error: filter ${worstW.toExponential(2)}, input ${worstX.toExponential(2)}`);
});

test.serial('the wasm filter gradient exists only because the project registers it', async (t) => {
  t.truthy(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  t.truthy(tf.getKernel('Conv2DBackpropFilter', 'cpu'));
  // Sanity of the oracle: a wrong kernel (ignoring the padding) would disagree with cpu.
  const c: Case = { x: [2, 7, 7, 2], k: 3, ci: 2, co: 2, stride: 1, pad: 1 };
  const xs = Float32Array.from({ length: 196 }, () => rng.normal());
  const ws = Float32Array.from({ length: 36 }, () => rng.normal());
  const same = await gradients('cpu', c, xs, ws, null);
  const valid = await gradients('cpu', { ...c, pad: 'valid' }, xs, ws, null);
  t.true(maxRelativeError(valid.dw, same.dw) > 1e-2);
});

test.serial('wasm matMul with every transpose combination (rank 2 and 3) equals cpu', async (t) => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    for (const batch of [[], [3]]) {
      const [m, k, n] = [5 + rng.int(20), 3 + rng.int(30), 4 + rng.int(20)];
      const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
      const bShape = [...batch, ...(tb ? [n, k] : [k, n])];
      const av = Float32Array.from({ length: aShape.reduce((x, y) => x * y, 1) }, () => rng.normal());
      const bv = Float32Array.from({ length: bShape.reduce((x, y) => x * y, 1) }, () => rng.normal());
      const product = async (backend: string) => {
        await tf.setBackend(backend);
        return tf.tidy(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb).dataSync() as Float32Array);
      };
      const want = await product('cpu');
      const got = await product('wasm');
      t.is(got.length, [...batch, m, n].reduce((x, y) => x * y, 1));
      t.true(maxRelativeError(got, want) <= 1e-5, `transposeA ${ta}, transposeB ${tb}, batch [${batch}]: ${maxRelativeError(got, want)}`);
    }
  }
});
