/** The paper's update rule checked by hand (§5), and that an lr drop does not rescale v. */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PaperSgd } from '../../src/train/sgd.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

test('two steps of v <- 0.9v - 0.0005*lr*w - lr*g; w <- w + v, with an lr drop between them', (t) => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const params = new Map([['w', w]]);
  const sgd = new PaperSgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.0005 });
  const g1 = tf.tensor1d([0.5, 0.25]);
  sgd.apply(params, { w: g1 });
  // By hand: v1 = 0 - 0.0005*0.1*w0 - 0.1*g1 = [-0.00005 - 0.05, 0.0001 - 0.025] = [-0.05005, -0.0249]
  // w1 = w0 + v1 = [0.94995, -2.0249]
  const w1 = w.dataSync();
  t.true(Math.abs(w1[0]! - 0.94995) < 1e-6 && Math.abs(w1[1]! - -2.0249) < 1e-6, `w1 = ${w1}`);
  sgd.learningRate = 0.01; // divided by 10
  const g2 = tf.tensor1d([-1, 2]);
  sgd.apply(params, { w: g2 });
  // v2 = 0.9*v1 - 0.0005*0.01*w1 - 0.01*g2: the old v is NOT rescaled by the lr drop.
  const v2 = [0.9 * -0.05005 - 0.000005 * 0.94995 + 0.01, 0.9 * -0.0249 - 0.000005 * -2.0249 - 0.02];
  const w2 = w.dataSync();
  t.true(Math.abs(w2[0]! - (0.94995 + v2[0]!)) < 1e-6, `w2[0] = ${w2[0]}`);
  t.true(Math.abs(w2[1]! - (-2.0249 + v2[1]!)) < 1e-6, `w2[1] = ${w2[1]}`);
  // tfjs's own momentum optimizer, by contrast, would rescale: its step after the drop differs.
  const tfStep = 0.01 * (0.9 * (0.5 / 1) + -1); // lr2 * (m*acc1 + g2) with acc1 = g1 (no decay)
  t.true(Math.abs(tfStep - -v2[0]!) > 1e-3, 'the two rules disagree after an lr drop');
  sgd.dispose();
  for (const x of [w, g1, g2]) x.dispose();
});

test('optimizer state round-trips through state()/load()', async (t) => {
  const w = tf.variable(tf.tensor1d([1, 2, 3]));
  const params = new Map([['w', w]]);
  const a = new PaperSgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.0005 });
  a.apply(params, { w: tf.tensor1d([1, 1, 1]) });
  const saved = await a.state();
  const b = new PaperSgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.0005 });
  b.load(saved);
  const wa = tf.variable(tf.tensor1d([5, 5, 5]));
  const wb = tf.variable(tf.tensor1d([5, 5, 5]));
  a.apply(new Map([['w', wa]]), { w: tf.tensor1d([0.1, 0.2, 0.3]) });
  b.apply(new Map([['w', wb]]), { w: tf.tensor1d([0.1, 0.2, 0.3]) });
  t.deepEqual(Array.from(wa.dataSync()), Array.from(wb.dataSync()));
  t.notDeepEqual(Array.from(wa.dataSync()), [5, 5, 5]);
});
