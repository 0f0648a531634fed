/**
 * `train()` on the webgpu backend against the same run on the cpu backend: six steps of the tiny
 * preset on real image files, where the webgpu loop keeps one step in flight (each loss read one
 * step behind) and runs the project's WGSL kernels. Every step's loss and the final weights must
 * match the cpu run's. In CI the adapter is lavapipe (Mesa >= 24, which .ci/run installs);
 * skipped, with the reason, where there is none.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRESETS } from '../../src/config.js';
import { readCheckpoint } from '../../src/model/checkpoint.js';
import { readDataCache } from '../../src/train/data-cache.js';
import { prepareFolder } from '../../src/train/prepare-folder.js';
import { writeSyntheticDataset } from '../../src/train/synthetic.js';
import { probeTrainingBackends, useBackend, type TrainingBackend } from '../../src/train/backends.js';
import { train } from '../../src/train/trainer.js';
import { newRun } from '../../src/train/training-run.js';
import { maxRelativeError } from '../oracles.js';

// Declared after this await, every test and hook of the file (ava closes declarations soon after
// the first one: test/temp-dir.ts's hook would be that first one, so it is not used here).
const webgpu = (await probeTrainingBackends()).find((b) => b.name === 'webgpu')!;
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-webgpu-train-'));
test.after.always(() => fs.rm(root, { recursive: true, force: true }));
const title = 'train() on webgpu (loss read one step behind, project kernels) equals train() on cpu: every step\'s loss and the weights after 6 steps';

(webgpu.available ? test : test.skip)(webgpu.available ? title : `${title} [skipped: no WebGPU adapter here: ${webgpu.detail.slice(0, 160)}]`, async (t) => {
  const tiny = PRESETS.tiny;
  await writeSyntheticDataset({ out: path.join(root, 'data'), perClassTrain: 24, perClassVal: 8, size: 36 });
  await prepareFolder({ data: path.join(root, 'data'), out: path.join(root, 'cache'), baseSize: tiny.network.baseSize });
  const data = await readDataCache(path.join(root, 'cache'));
  const config = { preset: 'tiny' as const, ...tiny.train, batchSize: 16, epochs: 1, maxDrops: 3, seed: 5, lightingStd: 0.1, workers: 1, threads: 1, tenCropEachEpoch: false };
  const run = async (backend: TrainingBackend) => {
    await useBackend(backend);
    const out = path.join(root, backend);
    const losses: number[] = [];
    const r = await train(await newRun(out, tiny, { config }), data, { maxSteps: 6, onStep: (s) => losses.push(s.loss) });
    const ckpt = await readCheckpoint(r.checkpoint);
    return { losses, batch: r.state.batch, weights: ckpt.tensors };
  };
  const gpu = await run('webgpu');
  const cpu = await run('cpu');
  t.is(gpu.batch, 6, 'the step limit counts steps issued, and each is settled before the checkpoint');
  t.is(gpu.losses.length, 6);
  t.deepEqual(gpu.losses.length, cpu.losses.length);
  const lossError = maxRelativeError(gpu.losses, cpu.losses);
  t.true(lossError <= 1e-4, `losses ${gpu.losses} vs ${cpu.losses}`);
  let worst = 0;
  for (const [name, w] of cpu.weights) worst = Math.max(worst, maxRelativeError(gpu.weights.get(name)!.data, w.data));
  t.log(`losses relative error ${lossError.toExponential(2)}, weights ${worst.toExponential(2)} (${cpu.weights.size} tensors)`);
  t.true(worst <= 1e-4, `weights differ by ${worst}`);
  // Not trivially equal: the weights moved from their initial values.
  t.true(cpu.losses[0]! !== cpu.losses[5]!);
});
