/**
 * A whole training step's gradients (softmax cross-entropy of the tiny network, eval mode) on
 * each accelerated backend against the cpu backend's own kernels.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { PRESETS } from '../../src/config.js';
import { initParameters } from '../../src/model/init.js';
import { probeTrainingBackends, useBackend, type TrainingBackend } from '../../src/train/backends.js';
import { toTfjs } from '../../src/train/network.js';
import { lossAndGradients } from '../../src/train/step.js';
import { Rng } from '../../src/util/rng.js';

// Decided at load, before any test is declared (ava needs them declared synchronously): without
// a WebGPU adapter its comparison is skipped, and says why, rather than passing.
const webgpu = (await probeTrainingBackends()).find((b) => b.name === 'webgpu')!;

const spec = PRESETS.tiny.network;
const s = spec.inputSize;
const rng = new Rng(77);
const params0 = initParameters(spec, 5, new Rng(3));
// Noise so the weights are not at their init symmetry, and an input of pixel scale.
for (const p of params0) for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + rng.normal() * 0.05;
const x0 = Float32Array.from({ length: 4 * s * s * 3 }, () => rng.normal() * 60);
const labels0 = [0, 3, 1, 4];

async function gradientsOn(backend: 'cpu-reference' | TrainingBackend): Promise<Map<string, Float32Array>> {
  if (backend === 'cpu-reference') {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu'); // tfjs's own kernels: the project's are registered only by useBackend
  } else {
    await useBackend(backend);
  }
  const params = toTfjs(params0, true) as Map<string, tf.Variable>;
  const x = tf.tensor4d(x0, [4, s, s, 3]);
  const y = tf.tensor1d(labels0, 'int32');
  const { loss, grads } = lossAndGradients(spec, params, x, y, undefined);
  const out = new Map<string, Float32Array>();
  for (const [name, g] of Object.entries(grads)) out.set(name, (await g.data()) as Float32Array);
  out.set('loss', (await loss.data()) as Float32Array);
  tf.dispose([x, y, loss, ...Object.values(grads), ...params.values()]);
  return out;
}

function compare(t: import('ava').ExecutionContext, got: Map<string, Float32Array>, want: Map<string, Float32Array>, bound: number, label: string) {
  let worst = 0;
  t.is(got.size, want.size);
  for (const [name, w] of want) {
    const g = got.get(name)!;
    let d = 0;
    let m = 0;
    for (let i = 0; i < w.length; i++) {
      d = Math.max(d, Math.abs(g[i]! - w[i]!));
      m = Math.max(m, Math.abs(w[i]!));
    }
    const rel = m === 0 ? d : d / m;
    worst = Math.max(worst, rel);
    t.true(rel <= bound, `${label} ${name}: relative error ${rel}`);
  }
  t.log(`${label}: worst relative error over loss and 16 gradients ${worst.toExponential(2)}`);
}

let reference: Map<string, Float32Array>;
test.before(async () => {
  reference = await gradientsOn('cpu-reference');
});

test('the reference step has non-zero gradients for all 16 parameters', (t) => {
  t.is(reference.size, 17);
  for (const [name, g] of reference) t.true(g.some((v) => v !== 0), name);
});

test.serial('wasm training step gradients equal cpu (relative error <= 1e-4)', async (t) => {
  compare(t, await gradientsOn('wasm'), reference, 1e-4, 'wasm');
});

const webgpuTitle = 'webgpu training step gradients equal cpu (relative error <= 1e-3)';
(webgpu.available ? test.serial : test.skip)(webgpu.available ? webgpuTitle : `${webgpuTitle}: skipped, no WebGPU adapter here (${webgpu.detail})`, async (t) => {
  compare(t, await gradientsOn('webgpu'), reference, 1e-3, `webgpu (${webgpu.detail})`);
});
