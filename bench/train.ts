/**
 * npm run bench:train [-- --presets mini,paper --backends wasm --steps 6 --batch 128 --workers 4]
 *
 * In one run: the data pipeline's images/s alone (worker threads cutting random crops with flips
 * and PCA lighting from a cache of random images), and the whole training loop's images/s on
 * each available backend (`train()` itself: pipeline + steps, stopped after --steps steps), for
 * each preset, each timed after its start (the pipeline from its second batch, the loop from the
 * end of its first step). The loop's rate over the pipeline's says how much headroom the data side has.
 * Then, on wasm, one thread's training step (one shard of the batch) with tfjs-backend-wasm's own
 * LRN / LRNGrad / MaxPoolGrad kernels and with the project's (pool-lrn-kernels.ts), alternated
 * --rounds times so both see the same machine.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getPreset, type Preset } from '../src/config.js';
import { probeTrainingBackends, useBackend, type TrainingBackend } from '../src/train/backends.js';
import { BatchPipeline, permutation } from '../src/train/batch-pipeline.js';
import type { DataCache, Split } from '../src/train/data-cache.js';
import { train } from '../src/train/trainer.js';
import { defaultDataWorkers, defaultThreads } from '../src/train/run-config.js';
import { newRun } from '../src/train/training-run.js';
import { registerWasmPoolLrnKernels } from '../src/train/pool-lrn-kernels.js';
import { PaperSgd } from '../src/train/sgd.js';
import { trainStep } from '../src/train/step.js';
import { checkWebgpuFits } from '../src/train/webgpu-limits.js';
import { toTfjs } from '../src/train/network.js';
import { initParameters } from '../src/model/init.js';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../src/util/rng.js';
import { positiveInteger } from './options.js';

const { values: args } = parseArgs({
  options: {
    presets: { type: 'string', default: 'mini,paper' },
    backends: { type: 'string' },
    steps: { type: 'string', default: '6' },
    workers: { type: 'string' },
    batch: { type: 'string' },
    rounds: { type: 'string', default: '5' },
  },
});
const steps = positiveInteger('bench:train', 'steps', args.steps);
// Batch workers: as asked, else what `alexnet train` takes beside each backend (defaultDataWorkers).
const workersArg = args.workers === undefined ? undefined : positiveInteger('bench:train', 'workers', args.workers);
const batchArg = args.batch === undefined ? undefined : positiveInteger('bench:train', 'batch', args.batch);
const rounds = positiveInteger('bench:train', 'rounds', args.rounds);

function randomCache(preset: Preset, count: number): DataCache {
  const b = preset.network.baseSize;
  const rng = new Rng(1);
  const split = (n: number): Split => {
    const images = new Uint8Array(new SharedArrayBuffer(n * b * b * 3));
    for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
    return { count: n, images, labels: Uint16Array.from({ length: n }, (_, i) => i % 10) };
  };
  const mean = new Float32Array(new SharedArrayBuffer(b * b * 3 * 4)).fill(127.5);
  return {
    dir: 'random',
    mean,
    splits: { train: split(count), val: split(Math.min(64, count)) },
    meta: {
      format: 'alexnet-data-cache', version: 4, baseSize: b, store: 'raw', classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
      counts: {}, pca: { eigenvalues: [60, 5, 1], eigenvectors: [0.58, -0.7, 0.4, 0.58, 0, -0.8, 0.58, 0.7, 0.4] },
      source: 'random', skipped: [], createdAt: '',
    },
  };
}

async function pipelineRate(preset: Preset, data: DataCache, batch: number, workers: number): Promise<number> {
  const n = data.splits.train!.count;
  const pipe = new BatchPipeline({ split: data.splits.train!, mean: data.mean, baseSize: preset.network.baseSize, inputSize: preset.network.inputSize, pca: data.meta.pca, workers });
  let images = 0;
  // The first batch pays for the workers' start (longer than the rest of a short run): time from the second on, as bench:data does.
  let t0 = 0;
  for await (const b of pipe.batches(permutation(n, 1), batch, 'train', 1)) {
    if (t0 === 0) t0 = performance.now();
    else images += b.size;
  }
  const rate = images / ((performance.now() - t0) / 1000);
  await pipe.close();
  return rate;
}

const rows: string[][] = [];
const notRun: string[] = [];
const probed = await probeTrainingBackends();
// By default what `alexnet train --backend auto` would pick from: no cpu (pure JavaScript), no
// software WebGPU adapter (lavapipe: a CPU running WGSL, slower than wasm); --backends names them.
const available = probed.filter((b) => (args.backends ? args.backends.split(',').includes(b.name) : b.available && b.name !== 'cpu' && b.software !== true));
// Say which backends are measured and why the others are not, so a table with one row is not mistaken for all.
for (const b of probed) {
  const why = available.includes(b)
    ? 'measured'
    : !b.available
      ? 'not available'
      : args.backends
        ? 'not in --backends'
        : `skipped by default${b.software ? ', a software adapter, as alexnet train --backend auto skips it' : ''} (--backends ${b.name} to measure it)`;
  console.log(`backend ${b.name}: ${why}: ${b.detail}`);
}
for (const name of args.presets!.split(',')) {
  const preset = getPreset(name);
  const batch = batchArg ?? (name === 'paper' ? 32 : preset.train.batchSize);
  const data = randomCache(preset, batch * (steps + 2));
  const pipes = new Map<number, number>();
  for (const b of available) {
    const used = await useBackend(b.name as TrainingBackend);
    const workers = workersArg ?? defaultDataWorkers(used.gpu);
    if (!pipes.has(workers)) {
      pipes.set(workers, await pipelineRate(preset, data, batch, workers));
      rows.push([name, `data pipeline alone (${workers} worker${workers > 1 ? 's' : ''})`, String(batch), pipes.get(workers)!.toFixed(1), '-']);
    }
    const pipe = pipes.get(workers)!;
    // As `alexnet train` does: a step whose tensors exceed the adapter's buffer limit is refused,
    // not run (Dawn would reject its commands and the step would compute nothing, quickly).
    if (used.name === 'webgpu') {
      try {
        checkWebgpuFits(preset.network, data.meta.classes.length, batch, `the WebGPU adapter (${used.detail.split(';')[0]})`);
      } catch (e) {
        rows.push([name, 'training loop, tfjs webgpu: not run (see below)', String(batch), '-', '-']);
        notRun.push(`${name} on webgpu not run: ${(e as Error).message}`);
        continue;
      }
    }
    const out = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-bench-train-'));
    // When each step ended: the loop's rate is timed from the end of the first (its warm-up and the
    // workers' start) to the end of the last; with --steps 1 only the whole of that one step is there.
    const ends: number[] = [];
    let firstRate = 0;
    // As `alexnet train` does: wasm and cpu shard each batch over the cores.
    const threads = defaultThreads(used.name);
    await train(await newRun(out, preset, { config: { batchSize: batch, epochs: 1, workers, threads, tenCropEachEpoch: false } }), data, {
      maxSteps: steps,
      onStep: (s) => {
        ends.push(performance.now());
        if (ends.length === 1) firstRate = s.imagesPerSecond;
      },
    });
    const rate = ends.length > 1 ? ((ends.length - 1) * batch) / ((ends.at(-1)! - ends[0]!) / 1000) : firstRate;
    await fs.rm(out, { recursive: true, force: true });
    rows.push([name, `training loop, tfjs ${used.name}, ${threads} thread${threads > 1 ? 's' : ''}, ${workers} batch worker${workers > 1 ? 's' : ''}`, String(batch), rate.toFixed(2), `${(rate / pipe).toFixed(3)}x`]);
  }
}
/** Seconds per training step of one thread on wasm, tfjs's own LRN/pool kernels vs the project's, alternated. */
async function kernelAb(preset: Preset, batch: number, stepsPerRound: number): Promise<{ own: number; project: number }> {
  await useBackend('wasm');
  const spec = preset.network;
  const params = toTfjs(initParameters(spec, 10, new Rng(1)), true) as Map<string, tf.Variable>;
  const sgd = new PaperSgd({ learningRate: 1e-4, momentum: preset.train.momentum, weightDecay: preset.train.weightDecay });
  const x = tf.randomNormal([batch, spec.inputSize, spec.inputSize, 3]) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const time = async (project: boolean) => {
    registerWasmPoolLrnKernels(project);
    await trainStep(spec, params, sgd, x, labels, 1); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < stepsPerRound; i++) await trainStep(spec, params, sgd, x, labels, 1);
    return (performance.now() - t0) / 1000 / stepsPerRound;
  };
  const own: number[] = [];
  const project: number[] = [];
  for (let r = 0; r < rounds; r++) {
    own.push(await time(false));
    project.push(await time(true));
  }
  registerWasmPoolLrnKernels(true);
  tf.dispose([x, labels, ...params.values()]);
  sgd.dispose();
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return { own: median(own), project: median(project) };
}

const abRows: string[][] = [];
if (available.some((b) => b.name === 'wasm')) {
  for (const name of args.presets!.split(',')) {
    const preset = getPreset(name);
    // One gradient thread's shard of the batch, as `alexnet train` gives each of the cores.
    const shard = Math.ceil((name === 'paper' ? 32 : preset.train.batchSize) / os.availableParallelism());
    const { own, project } = await kernelAb(preset, shard, name === 'paper' ? 1 : 3);
    abRows.push([name, String(shard), (shard / own).toFixed(1), (shard / project).toFixed(1), `${(own / project).toFixed(2)}x`]);
  }
}

const header = ['preset', 'what', 'batch', 'images/s', 'vs pipeline'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(
  `${os.cpus().length} CPU cores; ${steps} step${steps > 1 ? 's' : ''} per loop, ${steps > 1 ? 'timed from the end of the first (warm-up) on' : 'its warm-up included (--steps 2 or more excludes it)'}; the pipeline alone timed from its second batch`,
);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
for (const n of notRun) console.log(n);

if (abRows.length > 0) {
  const h2 = ['preset', 'shard', "images/s, tfjs-wasm's LRN/pool kernels", "images/s, the project's", 'speed-up'];
  const w2 = h2.map((h, i) => Math.max(h.length, ...abRows.map((r) => r[i]!.length)));
  const line2 = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w2[i]!)).join(' | ')} |`;
  console.log(`\none thread's training step on wasm, median of ${rounds} alternated rounds:`);
  console.log(line2(h2));
  console.log(`|${w2.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of abRows) console.log(line2(r));
}
