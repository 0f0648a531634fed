/**
 * npm run bench:webgpu-kernels [-- --presets mini --batch 32 --rounds 3 --steps 2 --classes 1000]
 *
 * A training step on the webgpu backend (forward, loss, gradients, the paper's SGD, loss read back)
 * with three kernel sets, alternated --rounds times so each sees the same machine:
 *   tfjs             tfjs-backend-webgpu's own kernels and defaults
 *   project          the project's LRNGrad and split-K filter gradient (src/train/webgpu-*.ts),
 *                    tfjs's loop input gradient (the default)
 *   project+matmul   the same with tfjs's matrix-product input gradient
 *   project+conv     the same with the input gradient as tfjs's forward convolution (stride 1)
 * and, for the project's default, --steps steps issued back to back with each loss read one step
 * behind (as `train()` does) against each loss read before the next step is issued.
 * Prints the median seconds per step, images/s and each set's speed-up over tfjs's own (the table
 * so far after every set; the last one printed is the result). Runs on
 * any adapter; on a software one (lavapipe) it says so: its ratios are a CPU's, not a GPU's.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { getPreset } from '../src/config.js';
import { initParameters } from '../src/model/init.js';
import { useBackend } from '../src/train/backends.js';
import { toTfjs } from '../src/train/network.js';
import { PaperSgd } from '../src/train/sgd.js';
import { trainStep } from '../src/train/step.js';
import { registerWebgpuKernels, type WebgpuKernelChoice } from '../src/train/webgpu-kernels.js';
import { checkWebgpuFits } from '../src/train/webgpu-limits.js';
import { Rng } from '../src/util/rng.js';
import { positiveInteger } from './options.js';

const BENCH = 'bench:webgpu-kernels';
const { values: args } = parseArgs({
  options: {
    presets: { type: 'string', default: 'mini' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '2' },
    classes: { type: 'string', default: '1000' },
  },
});
const batch = positiveInteger(BENCH, 'batch', args.batch);
const rounds = positiveInteger(BENCH, 'rounds', args.rounds);
const steps = positiveInteger(BENCH, 'steps', args.steps);
const classes = positiveInteger(BENCH, 'classes', args.classes);
const used = await useBackend('webgpu');
console.log(`webgpu adapter: ${used.detail}`);
if (/software/.test(used.detail)) console.log('(a software adapter: these ratios are a CPU running WGSL, not a GPU)');

const SETS: [string, Partial<WebgpuKernelChoice>][] = [
  ['tfjs', { project: false, inputGradient: 'naive' }],
  ['project', { project: true, inputGradient: 'naive' }],
  ['project+matmul', { project: true, inputGradient: 'matmul' }],
  ['project+conv', { project: true, inputGradient: 'conv' }],
];
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

for (const name of args.presets!.split(',')) {
  const preset = getPreset(name);
  const spec = preset.network;
  // As `alexnet train` does: a step past the adapter's buffer limit is not run (Dawn would reject
  // its commands, and every kernel set would time a step that computed nothing).
  try {
    checkWebgpuFits(spec, classes, batch, `the WebGPU adapter (${used.detail.split(';')[0]})`);
  } catch (e) {
    console.log(`\npreset ${name}, batch ${batch}, ${classes} classes: not run: ${(e as Error).message}`);
    process.exitCode = 1;
    continue;
  }
  const params = toTfjs(initParameters(spec, classes, new Rng(1)), true) as Map<string, tf.Variable>;
  const sgd = new PaperSgd({ learningRate: 1e-5, momentum: preset.train.momentum, weightDecay: preset.train.weightDecay });
  const x = tf.randomNormal([batch, spec.inputSize, spec.inputSize, 3], 0, 60) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), 'int32');
  const step = () => trainStep(spec, params, sgd, x, labels, 1);
  /** Seconds per step over `steps` steps; `behind`: the next step is issued before a loss is awaited. */
  const time = async (behind: boolean) => {
    await step(); // warm-up: shaders compiled, buffers allocated
    const t0 = performance.now();
    let pending: Promise<number> | null = null;
    for (let i = 0; i < steps; i++) {
      const p = step();
      if (!behind) await p;
      else if (pending) await pending;
      pending = p;
    }
    await pending;
    return (performance.now() - t0) / 1000 / steps;
  };
  const seconds = new Map<string, number[]>();
  const add = (k: string, v: number) => seconds.set(k, [...(seconds.get(k) ?? []), v]);
  /** The table so far, printed after every set: a run cut short (the GPU run's time limit) keeps the last. */
  const table = (done: number) => {
    const base = seconds.has('tfjs') ? median(seconds.get('tfjs')!) : undefined;
    console.log(`\npreset ${name}, batch ${batch}, ${classes} classes: median of ${done} alternated round${done > 1 ? 's' : ''} of ${steps} steps`);
    console.log('| kernels | s per step | images/s | vs tfjs |');
    console.log('|---|---|---|---|');
    for (const [set, v] of seconds) {
      const sec = median(v);
      console.log(`| ${set} | ${sec.toFixed(3)} | ${(batch / sec).toFixed(1)} | ${base === undefined ? '-' : `${(base / sec).toFixed(2)}x`} |`);
    }
  };
  for (let r = 0; r < rounds; r++) {
    // tfjs's own kernels last: the slowest, so a round cut short has the project's already.
    for (const [set, choice] of [...SETS.slice(1), SETS[0]!]) {
      registerWebgpuKernels(choice);
      add(set, await time(false));
      if (set === 'project') add('project, loss read one step behind', await time(true));
      table(r + 1);
    }
  }
  registerWebgpuKernels();
  tf.dispose([x, labels, ...params.values()]);
  sgd.dispose();
}
