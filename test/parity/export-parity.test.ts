/**
 * The export proven equal to the trained model: tfjs (eval mode, cpu backend) against
 * onnxruntime on the exported files, on random weights and random inputs. The ten-crop model
 * is checked against ten crops cut here, naively, and run through tfjs one by one.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { PRESETS, type Preset } from '../../src/config.js';
import { exportCheckpoint } from '../../src/export/export-model.js';
import { tenCropPath } from '../../src/model/model-files.js';
import { writeCheckpoint, type MeanSpec } from '../../src/model/checkpoint.js';
import { initParameters } from '../../src/model/init.js';
import type { NamedTensor } from '../../src/model/tensor.js';
import { forward, toTfjs } from '../../src/train/network.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

const SLOW = Boolean(process.env.ALEXNET_SLOW);

test.before(async () => {
  await tf.setBackend('cpu');
});

interface Fixture {
  dir: string;
  tensors: NamedTensor[];
  mean: { kind: 'channel'; values: number[] } | { kind: 'image'; data: Float32Array };
}

/** Random weights: the paper's init plus noise on every tensor, so no bias is a plain 0 or 1. */
async function randomCheckpoint(preset: Preset, classes: number, meanKind: 'channel' | 'image', seed: number): Promise<Fixture> {
  const rng = new Rng(seed);
  const spec = preset.network;
  const tensors = initParameters(spec, classes, rng);
  for (const t of tensors) {
    const scale = t.name.endsWith('bias') ? 0.5 : spec.init.weightStd;
    for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! + rng.normal() * scale;
  }
  const b = spec.baseSize;
  let meanSpec: MeanSpec;
  let mean: Fixture['mean'];
  const all = [...tensors];
  if (meanKind === 'image') {
    const data = Float32Array.from({ length: b * b * 3 }, () => 100 + rng.uniform() * 50);
    all.push({ name: 'mean', shape: [b, b, 3], data });
    meanSpec = { kind: 'image', tensor: 'mean' };
    mean = { kind: 'image', data };
  } else {
    meanSpec = { kind: 'channel', values: [120.5, 115.25, 101] };
    mean = { kind: 'channel', values: meanSpec.values };
  }
  const dir = await tempDir('parity');
  const labels = Array.from({ length: classes }, (_, i) => `c${i}`);
  await writeCheckpoint(path.join(dir, 'ck'), { preset: preset.name, network: spec, classes, labels, mean: meanSpec }, all);
  await exportCheckpoint(path.join(dir, 'ck'), path.join(dir, 'model.onnx'));
  return { dir, tensors, mean };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ref = 0;
  for (let i = 0; i < b.length; i++) ref = Math.max(ref, Math.abs(b[i]!));
  return maxAbs(a, b) / ref;
}

/** tfjs reference: softmax and fc7 of NHWC crops. */
function reference(preset: Preset, f: Fixture, nhwc: Float32Array, n: number): { probs: Float32Array; fc7: Float32Array } {
  const s = preset.network.inputSize;
  return tf.tidy(() => {
    const params = toTfjs(f.tensors, false);
    const { logits, fc7 } = forward(preset.network, params, tf.tensor4d(nhwc, [n, s, s, 3]), { training: false });
    return { probs: tf.softmax(logits).dataSync() as Float32Array, fc7: fc7.dataSync() as Float32Array };
  });
}

function nhwcToNchw(x: Float32Array, n: number, s: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < s; y++)
      for (let xx = 0; xx < s; xx++)
        for (let c = 0; c < 3; c++) out[((b * 3 + c) * s + y) * s + xx] = x[((b * s + y) * s + xx) * 3 + c]!;
  return out;
}

async function singleCropParity(t: import('ava').ExecutionContext, preset: Preset, classes: number, meanKind: 'channel' | 'image') {
  const f = await randomCheckpoint(preset, classes, meanKind, 11);
  const s = preset.network.inputSize;
  const n = 3;
  const rng = new Rng(12);
  const x = Float32Array.from({ length: n * s * s * 3 }, () => rng.normal() * 60);
  const want = reference(preset, f, x, n);
  const session = await ort.InferenceSession.create(path.join(f.dir, 'model.onnx'));
  const out = await session.run({ input: new ort.Tensor('float32', nhwcToNchw(x, n, s), [n, 3, s, s]) });
  const probs = out.probabilities!.data as Float32Array;
  const fc7 = out.fc7!.data as Float32Array;
  t.deepEqual(out.probabilities!.dims, [n, classes]);
  const dp = maxAbs(probs, want.probs);
  const df = maxRel(fc7, want.fc7);
  t.log(`${preset.name} single crop: max |dp| ${dp.toExponential(2)}, fc7 relative ${df.toExponential(2)}`);
  t.true(dp <= 1e-4, `probabilities differ by ${dp}`);
  t.true(df <= 1e-3, `fc7 differs by ${df} relative`);
  // The comparison is not vacuous: the probabilities are not uniform.
  t.true(Math.max(...want.probs) - Math.min(...want.probs) > 1e-3);
  await session.release();
}

/** Ten crops of §5 cut naively from HWC uint8 images, mean subtracted, as NHWC floats. */
function cutTenCrops(images: Uint8Array, n: number, b: number, s: number, mean: Fixture['mean']): Float32Array {
  const out = new Float32Array(n * 10 * s * s * 3);
  const far = b - s;
  const mid = Math.floor(far / 2);
  const offsets = [[0, 0], [far, 0], [0, far], [far, far], [mid, mid]];
  let o = 0;
  for (let i = 0; i < n; i++)
    for (let k = 0; k < 10; k++) {
      const [x0, y0] = offsets[k % 5]!;
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++) {
          const sx = k < 5 ? x0! + x : x0! + s - 1 - x; // mirrors read their row right to left
          for (let c = 0; c < 3; c++) {
            const src = ((i * b + y0! + y) * b + sx) * 3 + c;
            const m = mean.kind === 'channel' ? mean.values[c]! : mean.data[src - i * b * b * 3]!;
            out[o++] = images[src]! - m;
          }
        }
    }
  return out;
}

async function tenCropParity(t: import('ava').ExecutionContext, preset: Preset, classes: number, meanKind: 'channel' | 'image') {
  const f = await randomCheckpoint(preset, classes, meanKind, 21);
  const { baseSize: b, inputSize: s } = preset.network;
  const n = 2;
  const rng = new Rng(22);
  const images = Uint8Array.from({ length: n * b * b * 3 }, () => rng.int(256));
  const crops = cutTenCrops(images, n, b, s, f.mean);
  const ref = reference(preset, f, crops, n * 10);
  const width = preset.network.fcUnits[1];
  const avg = (v: Float32Array, w: number) => {
    const out = new Float32Array(n * w);
    for (let i = 0; i < n; i++) for (let k = 0; k < 10; k++) for (let j = 0; j < w; j++) out[i * w + j]! += v[(i * 10 + k) * w + j]! / 10;
    return out;
  };
  const wantProbs = avg(ref.probs, classes);
  const wantFc7 = avg(ref.fc7, width);
  const session = await ort.InferenceSession.create(tenCropPath(path.join(f.dir, 'model.onnx')));
  const out = await session.run({ images: new ort.Tensor('uint8', images, [n, b, b, 3]) });
  const dp = maxAbs(out.probabilities!.data as Float32Array, wantProbs);
  const df = maxRel(out.fc7!.data as Float32Array, wantFc7);
  t.log(`${preset.name} ten crop (${meanKind} mean): max |dp| ${dp.toExponential(2)}, fc7 relative ${df.toExponential(2)}`);
  t.true(dp <= 1e-4, `probabilities differ by ${dp}`);
  t.true(df <= 1e-3, `fc7 differs by ${df} relative`);
  // The ten crops matter: the center crop alone gives another answer.
  const centerOnly = ref.probs.subarray(4 * classes, 5 * classes);
  t.true(maxAbs(centerOnly, wantProbs.subarray(0, classes)) > 1e-6);
  await session.release();
}

test('tiny: single-crop ONNX equals tfjs (per-channel mean)', (t) => singleCropParity(t, PRESETS.tiny, 10, 'channel'));
test('tiny: ten-crop ONNX equals the mean of ten tfjs crops (per-channel mean)', (t) => tenCropParity(t, PRESETS.tiny, 10, 'channel'));
test('tiny: ten-crop ONNX equals the mean of ten tfjs crops (mean image)', (t) => tenCropParity(t, PRESETS.tiny, 7, 'image'));
// The slow tier: about 3 minutes of tfjs cpu time; skipped (with the reason in the title) unless ALEXNET_SLOW=1.
const slow = SLOW ? test : test.skip;
const why = SLOW ? '' : ' [slow tier: set ALEXNET_SLOW=1]';
slow(`mini: single-crop and ten-crop ONNX equal tfjs${why}`, async (t) => {
  await singleCropParity(t, PRESETS.mini, 10, 'image');
  await tenCropParity(t, PRESETS.mini, 10, 'image');
});
slow(`paper (1000 classes): single-crop ONNX equals tfjs${why}`, (t) => singleCropParity(t, PRESETS.paper, 1000, 'channel'));
slow(`paper (1000 classes): ten-crop ONNX equals the mean of ten tfjs crops${why}`, (t) => tenCropParity(t, PRESETS.paper, 1000, 'image'));
