/**
 * The network as data: shapes, parameter counts and the paper's init, against the paper's own
 * numbers (SPEC.md §1, §5), and the tfjs forward pass against its shapes.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PRESETS, type NetworkSpec } from '../../src/config.js';
import { initParameters } from '../../src/model/init.js';
import { layerShapes, multiplyAdds, parameterCount, parameterShapes } from '../../src/model/spec.js';
import { Rng } from '../../src/util/rng.js';
import { forward, toTfjs } from '../../src/train/network.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

test('paper preset: 55 -> 27 -> 13 -> 6 and 60,965,224 parameters at 1000 classes', (t) => {
  const s = layerShapes(PRESETS.paper.network);
  t.deepEqual(s.convOut, [55, 27, 13, 13, 13]);
  t.deepEqual(s.blockOut, [27, 13, 13, 13, 6]);
  t.is(s.fc6In, 9216);
  t.is(parameterCount(PRESETS.paper.network, 1000), 60_965_224);
  // SPEC.md §1: about 724M multiply-adds per 227 crop.
  t.is(Math.round(multiplyAdds(PRESETS.paper.network, 1000) / 1e6), 724);
});

test('paper preset without the two groups has the ungrouped count 62,378,344', (t) => {
  const ungrouped: NetworkSpec = {
    ...PRESETS.paper.network,
    conv: PRESETS.paper.network.conv.map((c) => ({ ...c, groups: 1 as const })),
  };
  t.is(parameterCount(ungrouped, 1000), 62_378_344);
});

test('paper preset layers: kernels, strides, groups, LRN and pools of §3.5', (t) => {
  const conv = PRESETS.paper.network.conv;
  t.deepEqual(conv.map((c) => c.filters), [96, 256, 384, 384, 256]);
  t.deepEqual(conv.map((c) => c.kernel), [11, 5, 3, 3, 3]);
  t.is(conv[0]!.stride, 4);
  t.deepEqual(conv.map((c) => c.groups), [1, 2, 1, 2, 2]);
  t.deepEqual(conv.map((c) => c.lrn), [true, true, false, false, false]);
  t.deepEqual(conv.map((c) => c.pool), [true, true, false, false, true]);
  t.deepEqual(PRESETS.paper.network.fcUnits, [4096, 4096]);
  t.deepEqual(PRESETS.paper.network.lrn, { size: 5, alpha: 1e-4, beta: 0.75, k: 2 });
  t.deepEqual(PRESETS.paper.network.pool, { size: 3, stride: 2 });
  t.is(PRESETS.paper.network.dropout, 0.5);
  const shapes = new Map(parameterShapes(PRESETS.paper.network, 1000).map((p) => [p.name, p.shape]));
  t.deepEqual(shapes.get('conv2.weight'), [5, 5, 48, 256]);
  t.deepEqual(shapes.get('conv4.weight'), [3, 3, 192, 384]);
  t.deepEqual(shapes.get('conv5.weight'), [3, 3, 192, 256]);
  t.deepEqual(shapes.get('fc6.weight'), [9216, 4096]);
});

test('every preset keeps the topology: three 3/2 pools and 5 conv + 3 fc', (t) => {
  for (const preset of Object.values(PRESETS)) {
    const s = layerShapes(preset.network);
    t.true(s.finalSide >= 2, `${preset.name}: last maps ${s.finalSide}x${s.finalSide}`);
    t.is(parameterShapes(preset.network, 10).length, 16, preset.name);
  }
});

test("paper init (§5): weights ~ N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0", (t) => {
  const params = initParameters(PRESETS.paper.network, 1000, new Rng(7));
  const biasOne = ['conv2', 'conv4', 'conv5', 'fc6', 'fc7'];
  for (const p of params) {
    const [layer, kind] = p.name.split('.');
    if (kind === 'bias') {
      const want = biasOne.includes(layer!) ? 1 : 0;
      t.true(p.data.every((v) => v === want), `${p.name} should be all ${want}`);
      continue;
    }
    let sum = 0;
    let sq = 0;
    for (const v of p.data) {
      sum += v;
      sq += v * v;
    }
    const n = p.data.length;
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    // Standard error of the mean is 0.01/sqrt(n); allow 5 of them, and 5% on the deviation for n >= 2000.
    t.true(Math.abs(mean) < (5 * 0.01) / Math.sqrt(n), `${p.name} mean ${mean}`);
    if (n >= 2000) t.true(Math.abs(std - 0.01) < 0.0005, `${p.name} std ${std}`);
  }
});

test('the small presets keep the scheme at their own deviation, biases 0.1 (documented in config.ts)', (t) => {
  for (const preset of [PRESETS.mini, PRESETS.tiny]) {
    const params = new Map(initParameters(preset.network, 10, new Rng(1)).map((p) => [p.name, p.data]));
    t.true(params.get('conv2.bias')!.every((v) => Math.abs(v - 0.1) < 1e-7));
    t.true(params.get('conv3.bias')!.every((v) => v === 0));
    const w = params.get('conv3.weight')!;
    const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    t.true(Math.abs(std / preset.network.init.weightStd - 1) < 0.1, `${preset.name} std ${std}`);
  }
});

test('the same seed gives the same init, another seed another', (t) => {
  const a = initParameters(PRESETS.tiny.network, 10, new Rng(3));
  const b = initParameters(PRESETS.tiny.network, 10, new Rng(3));
  const c = initParameters(PRESETS.tiny.network, 10, new Rng(4));
  t.deepEqual(a[0]!.data, b[0]!.data);
  t.notDeepEqual(a[0]!.data, c[0]!.data);
});

test('tfjs forward gives [N, classes] logits and [N, fc7] features; dropout only in training', (t) => {
  const spec = PRESETS.tiny.network;
  const params = toTfjs(initParameters(spec, 10, new Rng(1)), false);
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([3, spec.inputSize, spec.inputSize, 3], 0, 50, 'float32', 1) as tf.Tensor4D;
  const evalA = forward(spec, params, x, { training: false });
  const evalB = forward(spec, params, x, { training: false });
  const train = forward(spec, params, x, { training: true, dropoutSeed: 5 });
  t.deepEqual(evalA.logits.shape, [3, 10]);
  t.deepEqual(evalA.fc7.shape, [3, 16]);
  t.deepEqual(evalA.fc7.arraySync(), evalB.fc7.arraySync());
  const changed = tf.tidy(() => tf.max(tf.abs(tf.sub(train.logits, evalA.logits))).arraySync() as number);
  t.true(changed > 0, 'dropout changes the output in training mode');
  for (const r of [evalA, evalB, train]) {
    r.logits.dispose();
    r.fc7.dispose();
  }
  x.dispose();
  t.is(tf.memory().numTensors, before, 'no tensor leaks');
});
