/**
 * Where a training step's time goes, kernel by kernel (issue 24: profile before writing kernels).
 *
 *   node dist/bench/device/profile-step.js [--backend webgpu] [--preset paper] [--batch 128] [--steps 3]
 *     [--kernels project|tfjs] [--input-grad naive|matmul|conv]
 *     [--fc-units N]   (the preset's convolutions with narrower fc6/fc7: the paper's fc6 weights,
 *                       151 MB, exceed a software adapter's 128 MiB storage binding)   (webgpu: whose kernels, bench/webgpu-kernels.ts)
 *
 * One training step of the preset's network (forward, softmax cross-entropy, gradients, the
 * paper's SGD) on random data, warmed up once, then --steps steps each under tf.profile: every
 * kernel tfjs ran, with the time the backend measured for it (on webgpu, GPU timestamp queries
 * where the adapter has them; on cpu and wasm, the kernel's wall time), summed by kernel name over
 * the steps. Prints the step's wall time and the kernels by their share of the measured time, so
 * the slow ones (the filter gradient, the transposed convolution, the fc matmuls) can be picked.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { getPreset } from '../../src/config.js';
import { initParameters } from '../../src/model/init.js';
import { useBackend, type TrainingBackend } from '../../src/train/backends.js';
import { toTfjs } from '../../src/train/network.js';
import { PaperSgd } from '../../src/train/sgd.js';
import { trainStep } from '../../src/train/step.js';
import { registerWebgpuKernels } from '../../src/train/webgpu-kernels.js';
import { checkWebgpuFits } from '../../src/train/webgpu-limits.js';
import { Rng } from '../../src/util/rng.js';
import { positiveInteger, refuseOption } from '../options.js';

const BENCH = 'profile-step';
const { values: args } = parseArgs({ options: { backend: { type: 'string', default: 'webgpu' }, preset: { type: 'string', default: 'paper' }, batch: { type: 'string', default: '128' }, steps: { type: 'string', default: '3' }, kernels: { type: 'string', default: 'project' }, 'input-grad': { type: 'string', default: 'naive' }, 'fc-units': { type: 'string' } } });
const batch = positiveInteger(BENCH, 'batch', args.batch);
const steps = positiveInteger(BENCH, 'steps', args.steps);
const preset = getPreset(args.preset!);
const used = await useBackend(args.backend as TrainingBackend);
const inputGradient = (['naive', 'matmul', 'conv'] as const).find((g) => g === args['input-grad']) ?? refuseOption(BENCH, 'input-grad', args['input-grad'], 'naive, matmul or conv');
if (args.kernels !== 'project' && args.kernels !== 'tfjs') refuseOption(BENCH, 'kernels', args.kernels, 'project or tfjs');
if (used.name === 'webgpu') registerWebgpuKernels({ project: args.kernels === 'project', inputGradient });
const fcUnits = args['fc-units'] === undefined ? undefined : positiveInteger(BENCH, 'fc-units', args['fc-units']);
const spec = fcUnits ? { ...preset.network, fcUnits: [fcUnits, fcUnits] as const } : preset.network;
// As `alexnet train` does: a step past the adapter's buffer limit is refused, not profiled (Dawn
// would reject its commands and the profile would time a step that computed nothing).
if (used.name === 'webgpu') {
  try {
    checkWebgpuFits(spec, 1000, batch, `the WebGPU adapter (${used.detail.split(';')[0]})`);
  } catch (e) {
    console.error(`${BENCH}: ${(e as Error).message.replace(', or --backend wasm', ', --fc-units 512, or --backend wasm')}`);
    process.exit(1);
  }
}
const params = toTfjs(initParameters(spec, 1000, new Rng(1)), true) as Map<string, tf.Variable>;
const sgd = new PaperSgd({ learningRate: 1e-4, momentum: preset.train.momentum, weightDecay: preset.train.weightDecay });
const x = tf.randomNormal([batch, spec.inputSize, spec.inputSize, 3], 0, 60) as tf.Tensor4D;
const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');

await trainStep(spec, params, sgd, x, labels, 1); // warm-up: shaders compiled, memory allocated
const byKernel = new Map<string, { ms: number; calls: number; errors: number }>();
let wallMs = 0;
for (let s = 0; s < steps; s++) {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await trainStep(spec, params, sgd, x, labels, 1);
  });
  wallMs += performance.now() - t0;
  for (const k of info.kernels) {
    const time = await k.kernelTimeMs;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0, errors: 0 };
    entry.calls++;
    if (typeof time === 'number') entry.ms += time;
    else entry.errors++;
    byKernel.set(k.name, entry);
  }
}
const measured = [...byKernel.values()].reduce((sum, k) => sum + k.ms, 0);
const perStep = wallMs / steps;
console.log(`${used.name} (${used.detail}${used.name === 'webgpu' ? `; kernels ${args.kernels}, input gradient ${args['input-grad']}` : ''}), 1000 classes, preset ${args.preset}${fcUnits ? ` with fc6/fc7 of ${fcUnits}` : ''}, batch ${batch}: ${perStep.toFixed(1)} ms per profiled step (${((batch * 1000) / perStep).toFixed(1)} images/s; profiling adds its own cost), kernels' measured time ${(measured / steps).toFixed(1)} ms per step`);
console.log('| kernel | calls per step | ms per step | share of measured |');
console.log('|---|---|---|---|');
for (const [name, k] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) {
  console.log(`| ${name} | ${(k.calls / steps).toFixed(0)} | ${(k.ms / steps).toFixed(2)}${k.errors ? ` (${k.errors} unmeasured)` : ''} | ${((100 * k.ms) / Math.max(measured, 1e-9)).toFixed(1)} % |`);
}
