/**
 * npm run bench:model [-- --preset paper --backends wasm,webgpu --seconds 10 --ort-threads 2]
 *
 * In one run, side by side: forward crops/s of a random-init preset on each available tfjs
 * backend and on onnxruntime (the exported single-crop model), and one training step's
 * images/s (batch 32 by default) on each backend. Ratios are to onnxruntime's forward crops/s,
 * measured in the same run (absolute figures vary between machines and runs).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getPreset } from '../src/config.js';
import { exportCheckpoint } from '../src/export/export-model.js';
import { readCheckpoint } from '../src/model/checkpoint.js';
import { initParameters, writeInitCheckpoint } from '../src/model/init.js';
import { multiplyAdds } from '../src/model/spec.js';
import { probeExecutionProviders } from '../src/serve/execution-providers.js';
import { probeTrainingBackends, useBackend, type TrainingBackend } from '../src/train/backends.js';
import { lossAndGradients } from '../src/train/step.js';
import { forward, toTfjs } from '../src/train/network.js';
import { PaperSgd } from '../src/train/sgd.js';
import { trainStep } from '../src/train/step.js';
import { GradientPool } from '../src/train/parallel-step.js';
import { bufferLimitProblem } from '../src/train/webgpu-limits.js';
import { Rng } from '../src/util/rng.js';
import { positiveInteger, positiveNumber } from './options.js';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: 'paper' },
    backends: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    'forward-batch': { type: 'string', default: '8' },
    'train-batch': { type: 'string', default: '32' },
    'ort-threads': { type: 'string' },
    'max-step-seconds': { type: 'string', default: '180' },
  },
});
const preset = getPreset(args.preset!);
const spec = preset.network;
const classes = preset.name === 'paper' ? 1000 : 10;
const seconds = positiveNumber('bench:model', 'seconds', args.seconds);
const fwdBatch = positiveInteger('bench:model', 'forward-batch', args['forward-batch']);
const trainBatch = positiveInteger('bench:model', 'train-batch', args['train-batch']);
const maxStepSeconds = positiveNumber('bench:model', 'max-step-seconds', args['max-step-seconds']);
const ortThreads = args['ort-threads'] === undefined ? undefined : positiveInteger('bench:model', 'ort-threads', args['ort-threads']);

/** Seconds per call: one untimed warm-up call, then calls until `seconds` have passed (at least 2). */
async function timePerCall(fn: () => Promise<void> | void): Promise<number> {
  await fn();
  let n = 0;
  const start = performance.now();
  while (n < 2 || performance.now() - start < seconds * 1000) {
    await fn();
    n++;
  }
  return (performance.now() - start) / 1000 / n;
}

function randomImages(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n * 3 * spec.inputSize * spec.inputSize);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() * 50;
  return a;
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-bench-'));
console.log(`preset ${preset.name}: ${(multiplyAdds(spec, classes) / 1e6).toFixed(0)} M multiply-adds per crop; ${os.cpus().length} CPU cores; node ${process.version}`);
await writeInitCheckpoint({ preset, classes, seed: 1, out: path.join(dir, 'ck') });
const exported = await exportCheckpoint(path.join(dir, 'ck'), path.join(dir, 'model.onnx'));
const single = exported.files.find((f) => f.form === 'single-crop')!;

// onnxruntime on each execution provider that works here: the ceiling for inference.
interface Row {
  name: string;
  forward: number | string;
  train: number | string;
  gradErr?: string;
}
const rows: Row[] = [];
const rng = new Rng(2);
const ortInput = new ort.Tensor('float32', randomImages(fwdBatch, rng), [fwdBatch, 3, spec.inputSize, spec.inputSize]);
let ortCrops = 0;
for (const ep of (await probeExecutionProviders()).filter((p) => p.available)) {
  const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: [ep.name] };
  if (ortThreads !== undefined) sessionOptions.intraOpNumThreads = ortThreads;
  const session = await ort.InferenceSession.create(single.path, sessionOptions);
  const sec = await timePerCall(async () => {
    await session.run({ input: ortInput });
  });
  await session.release();
  if (ep.name === 'cpu') ortCrops = fwdBatch / sec;
  rows.push({ name: `onnxruntime (${ep.name} EP)`, forward: fwdBatch / sec, train: '-' });
}

/** Loss and gradients of one tiny-preset step on the current backend (the correctness column). */
async function tinyGradients(): Promise<Float32Array[]> {
  const tiny = getPreset('tiny').network;
  const r = new Rng(9);
  const p = toTfjs(initParameters(tiny, 5, new Rng(3)), true) as Map<string, tf.Variable>;
  const x = tf.tensor4d(Float32Array.from({ length: 4 * tiny.inputSize ** 2 * 3 }, () => r.normal() * 60), [4, tiny.inputSize, tiny.inputSize, 3]);
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  const { loss, grads } = lossAndGradients(tiny, p, x, y, undefined);
  const out = [(await loss.data()) as Float32Array];
  for (const name of p.keys()) out.push((await grads[name]!.data()) as Float32Array);
  tf.dispose([x, y, loss, ...Object.values(grads), ...p.values()]);
  return out;
}
function worstRelative(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((g, k) => {
    let d = 0;
    let m = 0;
    for (let i = 0; i < g.length; i++) {
      d = Math.max(d, Math.abs(g[i]! - b[k]![i]!));
      m = Math.max(m, Math.abs(b[k]![i]!));
    }
    worst = Math.max(worst, m ? d / m : d);
  });
  return worst;
}
// Reference: tfjs's own cpu kernels, before any backend registers the project's kernels.
await import('@tensorflow/tfjs-backend-cpu');
await tf.setBackend('cpu');
const referenceGrads = await tinyGradients();

const probed = await probeTrainingBackends();
const wanted = args.backends ? new Set(args.backends.split(',')) : null;
const ck = await readCheckpoint(path.join(dir, 'ck'));
// By default no software WebGPU adapter (lavapipe: a CPU running WGSL), as `alexnet train --backend auto`; --backends names it.
const skipped = (b: (typeof probed)[number]) => !wanted && b.available && b.software === true;
/** On webgpu, why a step at `batch` does not fit the device's buffer limits (Dawn would reject its commands and it would time nothing). */
const webgpuProblem = (batch: number): string | undefined => {
  const device = (tf.backend() as unknown as { device?: { limits: { maxStorageBufferBindingSize: number; maxBufferSize: number } } }).device;
  return device && bufferLimitProblem(spec, classes, batch, Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize), 'the WebGPU adapter');
};
const notRun: string[] = [];
for (const b of probed) {
  if (wanted ? !wanted.has(b.name) : !b.available || skipped(b)) continue;
  const row: Row = { name: `tfjs ${b.name}`, forward: '-', train: '-' };
  rows.push(row);
  try {
    const used = await useBackend(b.name as TrainingBackend);
    row.name = `tfjs ${used.name}`;
    row.gradErr = worstRelative(await tinyGradients(), referenceGrads).toExponential(1);
    const params = toTfjs(ck.tensors.values(), true) as Map<string, tf.Variable>;
    // The pure-JS cpu backend is far slower: one crop at a time keeps the run short.
    const batch = used.name === 'cpu' ? 1 : fwdBatch;
    const fwdProblem = used.name === 'webgpu' ? webgpuProblem(batch) : undefined;
    if (fwdProblem) {
      row.forward = 'not run (below)';
      notRun.push(`tfjs webgpu, forward at batch ${batch}: ${fwdProblem.replace('--backend wasm', '--backends wasm')}`);
      for (const p of params.values()) p.dispose();
      continue;
    }
    const x = tf.tensor4d(randomImages(batch, rng), [batch, spec.inputSize, spec.inputSize, 3]);
    const fwdSec = await timePerCall(async () => {
      const { logits, fc7 } = forward(spec, params, x, { training: false });
      await logits.data();
      logits.dispose();
      fc7.dispose();
    });
    row.forward = batch / fwdSec;
    x.dispose();
    // A training step costs about three forward passes: skip what would take too long.
    const estimate = ((3 * fwdSec) / batch) * trainBatch;
    const stepProblem = used.name === 'webgpu' ? webgpuProblem(trainBatch) : undefined;
    if (stepProblem) {
      row.train = 'not run (below)';
      notRun.push(`tfjs webgpu, training step at batch ${trainBatch}: ${stepProblem.replace('--backend wasm', '--backends wasm')}`);
    } else if (estimate > maxStepSeconds) {
      row.train = `skipped (~${estimate.toFixed(0)} s/step)`;
    } else {
      const sgd = new PaperSgd({ learningRate: 0.01, momentum: 0.9, weightDecay: 0.0005 });
      const xt = tf.tensor4d(randomImages(trainBatch, rng), [trainBatch, spec.inputSize, spec.inputSize, 3]);
      const labels = tf.tensor1d(Array.from({ length: trainBatch }, (_, i) => i % classes), 'int32');
      let seed = 1;
      const stepSec = await timePerCall(async () => {
        await trainStep(spec, params, sgd, xt, labels, seed++);
      });
      row.train = trainBatch / stepSec;
      sgd.dispose();
      xt.dispose();
      labels.dispose();
      // tfjs runs wasm and cpu on one thread: the trainer shards each batch over the cores.
      const cores = os.availableParallelism();
      if ((used.name === 'wasm' || used.name === 'cpu') && cores > 1) {
        const par: Row = { name: `tfjs ${used.name}, ${cores} threads (batch sharded)`, forward: '-', train: '-' };
        rows.push(par);
        const pool = await GradientPool.start(spec, used.name, params, cores);
        const sgd2 = new PaperSgd({ learningRate: 0.01, momentum: 0.9, weightDecay: 0.0005 });
        const xs = randomImages(trainBatch, rng);
        const ys = Int32Array.from({ length: trainBatch }, (_, i) => i % classes);
        try {
          par.train = trainBatch / (await timePerCall(async () => void (await pool.step(params, sgd2, xs, ys, trainBatch, seed++))));
        } finally {
          await pool.close();
          sgd2.dispose();
        }
      }
    }
    for (const p of params.values()) p.dispose();
  } catch (e) {
    row.forward = `failed: ${(e as Error).message.slice(0, 60)}`;
  }
}

const fmt = (v: number | string): string => (typeof v === 'number' ? v.toFixed(v < 10 ? 2 : 1) : v);
const ratio = (v: number | string): string => (typeof v === 'number' ? `${(v / ortCrops).toFixed(3)}x` : '-');
const header = ['backend', `forward crops/s (batch ${fwdBatch})`, 'vs ORT cpu', `train images/s (batch ${trainBatch})`, 'vs ORT cpu forward', 'step gradients vs tfjs cpu'];
const table = rows.map((r) => [r.name, fmt(r.forward), ratio(r.forward), fmt(r.train), ratio(r.train), r.gradErr ?? '-']);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of table) console.log(line(r));
for (const b of probed) if (!b.available) console.log(`not measured: tfjs ${b.name}: ${b.detail}`);
for (const b of probed) if (skipped(b)) console.log(`not measured by default: tfjs ${b.name}, a software adapter (--backends ${b.name} to measure it): ${b.detail}`);
for (const n of notRun) console.log(`not run: ${n}`);
console.log('step gradients: worst relative error over the loss and the 16 gradients of one tiny-preset step, against tfjs cpu with its own kernels');
await fs.rm(dir, { recursive: true, force: true });
