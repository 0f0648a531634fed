/**
 * Data-parallel steps: the batch sharded over the main thread and gradient workers must give
 * the same SGD update as one thread on the whole batch (dropout off, so both draw nothing at
 * random), on the deterministic cpu backend.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { PRESETS } from '../../src/config.js';
import { initParameters } from '../../src/model/init.js';
import { useBackend } from '../../src/train/backends.js';
import { toTfjs } from '../../src/train/network.js';
import { GradientPool, shardSizes } from '../../src/train/parallel-step.js';
import { PaperSgd } from '../../src/train/sgd.js';
import { trainStep } from '../../src/train/step.js';
import { Rng } from '../../src/util/rng.js';

const spec = { ...PRESETS.tiny.network, dropout: 0 };
const s = spec.inputSize;
const n = 7;
const rng = new Rng(11);
const params0 = initParameters(spec, 5, new Rng(4));
for (const p of params0) for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + rng.normal() * 0.05;
const batches = Array.from({ length: 3 }, () => ({
  x: Float32Array.from({ length: n * s * s * 3 }, () => rng.normal() * 60),
  labels: Int32Array.from({ length: n }, () => rng.int(5)),
}));

/** Three SGD steps; returns the final weights and the losses. */
async function run(threads: number): Promise<{ weights: Map<string, Float32Array>; losses: number[] }> {
  const params = toTfjs(params0, true) as Map<string, tf.Variable>;
  const sgd = new PaperSgd({ learningRate: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  const losses: number[] = [];
  if (threads === 0) {
    // The oracle: the existing single-thread step on whole batches.
    for (const b of batches) {
      const x = tf.tensor4d(b.x, [n, s, s, 3]);
      const y = tf.tensor1d(b.labels, 'int32');
      losses.push(await trainStep(spec, params, sgd, x, y, 5));
      tf.dispose([x, y]);
    }
  } else {
    const pool = await GradientPool.start(spec, 'cpu', params, threads);
    try {
      for (const b of batches) losses.push(await pool.step(params, sgd, b.x, b.labels, n, 5));
    } finally {
      await pool.close();
    }
  }
  const weights = new Map<string, Float32Array>();
  for (const [name, v] of params) weights.set(name, (await v.data()) as Float32Array);
  tf.dispose([...params.values()]);
  sgd.dispose();
  return { weights, losses };
}

test('shardSizes splits evenly, larger shards first', (t) => {
  t.deepEqual(shardSizes(7, 3), [3, 2, 2]);
  t.deepEqual(shardSizes(128, 2), [64, 64]);
  t.deepEqual(shardSizes(2, 4), [1, 1]);
});

test('2 and 3 threads give the single-thread update and loss', async (t) => {
  await useBackend('cpu');
  const want = await run(0);
  for (const threads of [2, 3]) {
    const got = await run(threads);
    got.losses.forEach((l, i) => t.true(Math.abs(l - want.losses[i]!) <= 1e-5 * Math.abs(want.losses[i]!), `threads ${threads} loss ${i}: ${l} vs ${want.losses[i]}`));
    let worst = 0;
    for (const [name, w] of want.weights) {
      const g = got.weights.get(name)!;
      let d = 0;
      let m = 0;
      for (let i = 0; i < w.length; i++) {
        d = Math.max(d, Math.abs(g[i]! - w[i]!));
        m = Math.max(m, Math.abs(w[i]! - params0.find((p) => p.name === name)!.data[i]!));
      }
      // Relative to how far the weights moved in the three steps: float32 rounding of the weights
      // themselves is ~3e-5 of that; a wrong shard weighting or a lost shard would be ~1e-1 or more.
      worst = Math.max(worst, m === 0 ? d : d / m);
    }
    t.true(worst <= 1e-3, `threads ${threads}: worst relative difference ${worst}`);
    t.log(`threads ${threads}: worst difference / step size ${worst.toExponential(2)}`);
  }
});
