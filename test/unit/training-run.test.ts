/**
 * Opening a training run (no training here): a directory that holds a run is refused without
 * --resume, a resume that would change a fixed setting is refused naming it, and an old run's
 * history (`val.centre`) is migrated where the run is opened.
 */
import test from 'ava';
import path from 'node:path';
import { PRESETS } from '../../src/config.js';
import { writeCheckpoint } from '../../src/model/checkpoint.js';
import { initParameters } from '../../src/model/init.js';
import { curvesSvg } from '../../src/train/curves.js';
import { newRunConfig } from '../../src/train/run-config.js';
import { newRun, resumeRun, settleBackendDefaults } from '../../src/train/training-run.js';
import os from 'node:os';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

const tiny = PRESETS.tiny;
const rates = (top1: number) => ({ top1, top5: 0, count: 12 });

/** A run of 2 epochs as a checkpoint written before the center/centre rename would hold it. */
async function oldRun(dir: string): Promise<void> {
  const rng = new Rng(4);
  const tensors = initParameters(tiny.network, 3, rng);
  const epoch = (e: number, top1: number) => ({ epoch: e, learningRate: 0.01, trainLoss: 1, val: { centre: rates(top1), ten: rates(top1) }, seconds: 1, imagesPerSecond: 10, dataWait: 0 });
  const training = {
    epoch: 2,
    batch: 0,
    learningRate: 0.01,
    drops: 0,
    bestError: 0.5,
    epochsSinceBest: 0,
    config: { ...newRunConfig(tiny, { seed: 4, batchSize: 16 }), threads: 1 },
    history: [epoch(1, 0.6), epoch(2, 0.5)],
    rng: rng.state(),
  };
  const meta = { preset: 'tiny' as const, network: tiny.network, classes: 3, labels: ['a', 'b', 'c'], mean: { kind: 'channel' as const, values: [0, 0, 0] as [number, number, number] } };
  await writeCheckpoint(dir, { ...meta, training }, tensors);
}

test('a directory holding a run or a checkpoint is refused for a new run', async (t) => {
  const root = await tempDir('run-open');
  await oldRun(path.join(root, 'run'));
  await t.throwsAsync(newRun(path.join(root, 'run'), tiny, { config: {} }), {
    message: /run already holds a training run \(2 epochs done\): add --resume to go on with it, or give another --out/,
  });
  await writeCheckpoint(path.join(root, 'init'), { preset: 'tiny', network: tiny.network, classes: 3, labels: ['a', 'b', 'c'], mean: { kind: 'channel', values: [0, 0, 0] } }, initParameters(tiny.network, 3, new Rng(1)));
  await t.throwsAsync(newRun(path.join(root, 'init'), tiny, { config: {} }), { message: /init already holds a checkpoint: give another --out/ });
  await t.throwsAsync(resumeRun(path.join(root, 'init'), { config: {} }), { message: /holds no training state to resume/ });
  await t.throwsAsync(resumeRun(path.join(root, 'empty'), { config: {} }), { message: /--resume: .*empty holds no checkpoint.json/ });
  const fresh = await newRun(path.join(root, 'empty'), tiny, { config: { epochs: 7 }, dropout: 0.25 });
  t.like(fresh, { config: { preset: 'tiny', epochs: 7, seed: 1, maxDrops: 3, lightingStd: 0.1, tenCropEachEpoch: true }, preset: { network: { dropout: 0.25 } } });
  t.is(fresh.resumed, undefined);
});

test('a resume may change only the resumable settings; another is refused naming it', async (t) => {
  const dir = path.join(await tempDir('run-resume'), 'run');
  await oldRun(dir);
  await t.throwsAsync(resumeRun(dir, { config: { seed: 9 } }), { message: /was started with seed 4, not 9: a resumed run keeps it \(it may change only epochs, patience/ });
  await t.throwsAsync(resumeRun(dir, { config: { batchSize: 32 } }), { message: /was started with batchSize 16, not 32/ });
  await t.throwsAsync(resumeRun(dir, { config: { preset: 'mini' } }), { message: /was started with preset "tiny", not "mini"/ });
  await t.throwsAsync(resumeRun(dir, { config: {}, dropout: 0.1 }), { message: /was started with dropout 0.5, not 0.1: a resumed run keeps its network/ });
  const run = await resumeRun(dir, { config: { epochs: 5, patience: 3, seed: 4 } });
  t.like(run.config, { epochs: 5, patience: 3, seed: 4, batchSize: 16 });
  t.is(run.resumed!.state.config, run.config, 'the state saved with the run holds the same settings');
  t.is(run.resumed!.state.epoch, 2);
  t.deepEqual(run.resumed!.labels, ['a', 'b', 'c']);
});

test("an old run's history holding val.centre is read as val.center", async (t) => {
  const dir = path.join(await tempDir('run-centre'), 'run');
  await oldRun(dir);
  const { history } = (await resumeRun(dir, { config: { epochs: 3 } })).resumed!.state;
  t.deepEqual(
    history.map((h) => h.val),
    [
      { center: rates(0.6), ten: rates(0.6) },
      { center: rates(0.5), ten: rates(0.5) },
    ],
  );
  t.false(history.some((h) => 'centre' in h.val));
  // The curves drawn after the next epoch read val.center of every epoch, the old ones too.
  t.regex(curvesSvg(history, 'old run'), /<polyline[^>]*stroke="#d62728"[^>]*points="[\d., ]+"/);
});

test('batch workers and gradient threads follow the backend unless asked for: beside a GPU all cores but two cut batches', async (t) => {
  const cores = os.availableParallelism();
  const root = await tempDir('settle');
  const open = async (name: string, requested = {}) => newRun(path.join(root, name), tiny, { config: requested });
  const gpu = await open('gpu');
  t.is(gpu.config.workers, undefined, 'unset until the backend is known');
  settleBackendDefaults(gpu, { name: 'webgpu', gpu: true });
  t.deepEqual([gpu.config.workers, gpu.config.threads], [Math.max(1, cores - 2), 1]);
  const software = await open('lavapipe');
  settleBackendDefaults(software, { name: 'webgpu', gpu: false });
  t.is(software.config.workers, 1, 'a software adapter computes on the cores itself');
  const cpu = await open('cpu');
  settleBackendDefaults(cpu, { name: 'wasm', gpu: false });
  t.deepEqual([cpu.config.workers, cpu.config.threads], [1, cores]);
  const asked = await open('asked', { workers: 3, threads: 2 });
  // Gradient threads are CPU work: on webgpu (whose kernels cannot run in worker threads) one, said so.
  t.regex(settleBackendDefaults(asked, { name: 'webgpu', gpu: true }) ?? '', /--threads 2 splits a step across CPU cores .* webgpu runs it on the GPU: one thread/);
  t.deepEqual([asked.config.workers, asked.config.threads], [3, 1]);
  const onWasm = await open('asked-wasm', { threads: 2 });
  t.is(settleBackendDefaults(onWasm, { name: 'wasm', gpu: false }), undefined);
  t.is(onWasm.config.threads, 2);
});

test('the learning rate follows the batch size when none is given: the preset\'s at its own batch, scaled linearly at another', (t) => {
  const paper = PRESETS.paper;
  t.is(newRunConfig(paper, {}).learningRate, 0.01);
  t.is(newRunConfig(paper, { batchSize: 128 }).learningRate, 0.01);
  // Written out: 0.01 for 128 images a step is 0.01 / 16 for 8.
  t.is(newRunConfig(paper, { batchSize: 8 }).learningRate, 0.01 / 16);
  t.is(newRunConfig(paper, { batchSize: 256 }).learningRate, 0.02);
  t.is(newRunConfig(paper, { batchSize: 8, learningRate: 0.01 }).learningRate, 0.01, 'an --lr given is kept');
  t.is(newRunConfig(PRESETS.tiny, { batchSize: 16 }).learningRate, 0.01, "tiny's own batch is 16");
});
