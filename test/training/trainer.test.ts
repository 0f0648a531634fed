/**
 * The training loop end to end on real image files: preparation (and its refusals), learning,
 * checkpoints each epoch, and an exact resume.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PRESETS } from '../../src/config.js';
import { readCheckpoint } from '../../src/model/checkpoint.js';
import { readDataCache, type DataCache } from '../../src/train/data-cache.js';
import { prepareFolder } from '../../src/train/prepare-folder.js';
import { writeSyntheticDataset } from '../../src/train/synthetic.js';
import type { Preset } from '../../src/config.js';
import type { TrainConfig } from '../../src/train/run-config.js';
import { train, type TrainHooks } from '../../src/train/trainer.js';
import { newRun, resumeRun } from '../../src/train/training-run.js';
import { useBackend } from '../../src/train/backends.js';
import { tempDir } from '../temp-dir.js';

const tiny = PRESETS.tiny;
let dataDir = '';
let cacheDir = '';

test.before(async () => {
  // The cpu backend is deterministic: the resume tests need bit-identical runs.
  await useBackend('cpu');
  const root = await tempDir('train');
  dataDir = path.join(root, 'data');
  cacheDir = path.join(root, 'cache');
  await writeSyntheticDataset({ out: dataDir, perClassTrain: 24, perClassVal: 8, size: 36 });
  await prepareFolder({ data: dataDir, out: cacheDir, baseSize: tiny.network.baseSize });
});

const config = (overrides: Partial<TrainConfig> = {}): TrainConfig => ({
  preset: 'tiny',
  ...tiny.train,
  batchSize: 16,
  epochs: 2,
  maxDrops: 3,
  seed: 3,
  lightingStd: 0.1,
  workers: 1,
  tenCropEachEpoch: true,
  ...overrides,
});

/** A new run of `preset` into `out`, or (resume) the run saved there, trained on `data`. */
const trainRun = async (preset: Preset, data: DataCache, out: string, cfg: TrainConfig, resume: boolean, hooks?: TrainHooks) =>
  train(resume ? await resumeRun(out, { config: cfg }) : await newRun(out, preset, { config: cfg }), data, hooks);

test('2 epochs straight equal 1 epoch + resume + 1 epoch (<= 1e-6)', async (t) => {
  const data = await readDataCache(cacheDir);
  const root = await tempDir('resume');
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  await trainRun(tiny, data, a, config({ epochs: 2 }), false);
  await trainRun(tiny, data, b, config({ epochs: 1 }), false);
  const r = await trainRun(tiny, data, b, config({ epochs: 2 }), true);
  t.is(r.state.epoch, 2);
  const ca = await readCheckpoint(a);
  const cb = await readCheckpoint(b);
  let maxDiff = 0;
  for (const [name, ta] of ca.tensors) {
    const tb = cb.tensors.get(name)!;
    for (let i = 0; i < ta.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ta.data[i]! - tb.data[i]!));
  }
  t.log(`max |difference| over all weights and velocities: ${maxDiff}`);
  t.true(maxDiff <= 1e-6);
  // And training moved the weights: the two runs are not equal merely because nothing changed.
  const init = await trainRun(tiny, data, path.join(root, 'c'), config({ epochs: 0 }), false).catch(() => null);
  t.is(init?.checkpoint ?? '', '');
  const lines = (await fs.readFile(path.join(a, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  t.is(lines.length, 2);
  const last = JSON.parse(lines[1]!);
  t.true(last.val.ten.top1 >= 0 && last.val.ten.top1 <= 1);
  t.regex(await fs.readFile(path.join(a, 'curves.svg'), 'utf8'), /<svg[\s\S]*polyline/);
});

test('stopped while validating: saved with every step done, and the resume only validates, as an uninterrupted run', async (t) => {
  const data = await readDataCache(cacheDir);
  const root = await tempDir('stop-validating');
  const whole = await trainRun(tiny, data, path.join(root, 'whole'), config({ epochs: 1 }), false);
  const batches = Math.floor(data.splits.train!.count / 16);
  const controller = new AbortController();
  const lines: string[] = [];
  // Stopped once the last step's loss is in: the next thing the loop does is validate.
  const stopped = await trainRun(tiny, data, path.join(root, 'b'), config({ epochs: 1 }), false, {
    signal: controller.signal,
    log: (l) => lines.push(l),
    onStep: (s) => (s.batch === batches ? controller.abort() : undefined),
  });
  t.true(stopped.interrupted);
  t.is(stopped.state.batch, batches);
  t.is(stopped.state.history.length, 0);
  t.regex(lines.join('\n'), /interrupted while validating epoch 1 \(its steps are done; --resume validates it\)/);
  const steps: number[] = [];
  const resumed = await trainRun(tiny, data, path.join(root, 'b'), config({ epochs: 1 }), true, { onStep: (s) => steps.push(s.batch) });
  t.deepEqual(steps, [], 'no step trained again');
  const [a, b] = [whole.state.history[0]!, resumed.state.history[0]!];
  t.deepEqual(b.val, a.val);
  t.true(Math.abs(b.trainLoss - a.trainLoss) <= 1e-6);
});

test('a resume of a run that has done its epochs says so and how to go on', async (t) => {
  const data = await readDataCache(cacheDir);
  const out = await tempDir('finished');
  await trainRun(tiny, data, out, config({ epochs: 1 }), false);
  await t.throwsAsync(resumeRun(out, { config: {} }), { message: /has done its 1 epochs: pass --epochs with more \(e\.g\. --epochs 11\)/ });
  const more = await trainRun(tiny, data, out, config({ epochs: 2 }), true);
  t.is(more.state.epoch, 2);
});

test('an interrupted run saves mid-epoch and resumes to the same weights', async (t) => {
  const data = await readDataCache(cacheDir);
  const root = await tempDir('interrupt');
  await trainRun(tiny, data, path.join(root, 'a'), config({ epochs: 1 }), false);
  const stopped = await trainRun(tiny, data, path.join(root, 'b'), config({ epochs: 1 }), false, { maxSteps: 3 });
  t.true(stopped.interrupted);
  t.is(stopped.state.batch, 3);
  await trainRun(tiny, data, path.join(root, 'b'), config({ epochs: 1 }), true);
  const ca = await readCheckpoint(path.join(root, 'a'));
  const cb = await readCheckpoint(path.join(root, 'b'));
  const wa = ca.tensors.get('conv1.weight')!.data;
  const wb = cb.tensors.get('conv1.weight')!.data;
  let maxDiff = 0;
  for (let i = 0; i < wa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(wa[i]! - wb[i]!));
  t.true(maxDiff <= 1e-6, `max difference ${maxDiff}`);
});

test('an epoch stopped and resumed records the loss of all its batches, whether stopped mid-way or after its last batch', async (t) => {
  const data = await readDataCache(cacheDir);
  const root = await tempDir('interrupt-metrics');
  const whole = await trainRun(tiny, data, path.join(root, 'whole'), config({ epochs: 1 }), false);
  const expected = whole.state.history[0]!;
  const batches = Math.floor(data.splits.train!.count / 16);
  for (const stopAt of [2, batches]) {
    const out = path.join(root, `stop-${stopAt}`);
    const stopped = await trainRun(tiny, data, out, config({ epochs: 1 }), false, { maxSteps: stopAt });
    t.true(stopped.interrupted);
    t.is(stopped.state.history.length, 0, 'no epoch recorded before it ends');
    const r = await trainRun(tiny, data, out, config({ epochs: 1 }), true);
    const got = r.state.history[0]!;
    t.true(Math.abs(got.trainLoss - expected.trainLoss) <= 1e-6, `stopped after ${stopAt} of ${batches}: loss ${got.trainLoss}, uninterrupted ${expected.trainLoss}`);
    t.true(got.imagesPerSecond > 0, `stopped after ${stopAt}: ${got.imagesPerSecond} images/s`);
    const line = JSON.parse((await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim());
    t.is(line.trainLoss, got.trainLoss);
    t.is(r.state.partial, undefined, 'the sums of a finished epoch are not kept');
  }
});

test('the paper\'s schedule ends training after its last learning-rate drop without improvement, and says so', async (t) => {
  const data = await readDataCache(cacheDir);
  // lr 1e-9: the weights barely move, so the validation error stops improving after epoch 1.
  const lines: string[] = [];
  const out = await tempDir('schedule-end');
  const r = await trainRun(tiny, data, out, config({ epochs: 20, learningRate: 1e-9, patience: 1, tenCropEachEpoch: false }), false, { log: (l) => lines.push(l) });
  // The oracle: §5's rule walked naively over the recorded errors.
  let best = 1;
  let since = 0;
  let drops = 0;
  let epochs = 0;
  for (const m of r.state.history) {
    epochs++;
    if (m.val.center.top1 < best) [best, since] = [m.val.center.top1, 0];
    else if (++since >= 1) [drops, since] = [drops + 1, 0];
    if (drops > 3) break;
  }
  t.true(drops > 3 && epochs < 20, `the run should have ended on the schedule: ${drops} drops in ${epochs} epochs`);
  t.is(r.state.history.length, epochs);
  t.regex(lines.at(-1)!, /after 3 learning-rate drops: training ends here/);
  t.is(lines.filter((l) => /learning rate now/.test(l)).length, 3);
  // A resume of the ended run, even with more epochs, says it has ended instead of training nothing.
  await t.throwsAsync(resumeRun(out, { config: { epochs: 30 } }), { message: /ended at epoch \d+: its validation error stopped improving after 3 learning-rate drops/ });
});

test('a resumed run keeps the network of its checkpoint when the preset has changed since', async (t) => {
  const data = await readDataCache(cacheDir);
  const root = await tempDir('resume-preset');
  // A run started with fc layers of 24 (an older release's tiny, say); the preset now has 16.
  const older = { ...tiny, network: { ...tiny.network, fcUnits: [24, 24] as const } };
  await trainRun(older, data, path.join(root, 'a'), config({ epochs: 1 }), false);
  await trainRun(older, data, path.join(root, 'b'), config({ epochs: 1 }), false, { maxSteps: 2 });
  // The resume names no network: it goes on with the checkpoint's, not the preset's.
  const resumed = await resumeRun(path.join(root, 'b'), { config: config({ epochs: 1 }) });
  t.deepEqual(resumed.preset.network.fcUnits, [24, 24]);
  await train(resumed, data);
  const ca = await readCheckpoint(path.join(root, 'a'));
  const cb = await readCheckpoint(path.join(root, 'b'));
  t.deepEqual(cb.network.fcUnits, [24, 24]);
  const wa = ca.tensors.get('fc7.weight')!.data;
  const wb = cb.tensors.get('fc7.weight')!.data;
  t.is(wb.length, 24 * 24);
  let maxDiff = 0;
  for (let i = 0; i < wa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(wa[i]! - wb[i]!));
  t.true(maxDiff <= 1e-6, `max difference ${maxDiff}`);
});

test('the synthetic classes are learned: loss falls from ln 4 and validation error well under chance', async (t) => {
  const data = await readDataCache(cacheDir);
  const root = await tempDir('learn');
  const r = await trainRun(tiny, data, root, config({ epochs: 12, patience: 100 }), false);
  t.log(r.state.history.map((h) => `epoch ${h.epoch}: loss ${h.trainLoss.toFixed(3)}, val top-1 center ${h.val.center.top1.toFixed(2)}, ten ${h.val.ten!.top1.toFixed(2)}`).join('\n'));
  const last = r.state.history.at(-1)!;
  const best = Math.min(...r.state.history.map((h) => h.val.ten!.top1));
  // Chance: loss ln 4 = 1.386, top-1 error 0.75.
  t.true(last.trainLoss < 1.2, `final training loss ${last.trainLoss}`);
  t.true(best <= 0.5, `best ten-crop top-1 error ${best}`);
});

test('bad data is refused before training: missing folder, empty class, class mismatch; corrupt images skipped', async (t) => {
  const root = await tempDir('bad');
  const baseSize = tiny.network.baseSize;
  await t.throwsAsync(prepareFolder({ data: path.join(root, 'nope'), out: path.join(root, 'c'), baseSize }), { message: /no such directory/ });
  await writeSyntheticDataset({ out: root, perClassTrain: 2, perClassVal: 1, size: 32, classes: 2 });
  await fs.mkdir(path.join(root, 'train', 'empty-class'));
  await t.throwsAsync(prepareFolder({ data: root, out: path.join(root, 'c'), baseSize }), { message: /empty-class has no .jpg/ });
  await fs.rm(path.join(root, 'train', 'empty-class'), { recursive: true });
  await fs.rename(path.join(root, 'val', 'green-vertical'), path.join(root, 'val', 'green'));
  await t.throwsAsync(prepareFolder({ data: root, out: path.join(root, 'c'), baseSize }), { message: /only in train: green-vertical; only in val: green \(of 2 in train, 2 in val\)/ });
  await fs.rename(path.join(root, 'val', 'green'), path.join(root, 'val', 'green-vertical'));
  await fs.writeFile(path.join(root, 'train', 'red-horizontal', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
  const warnings: string[] = [];
  const meta = await prepareFolder({ data: root, out: path.join(root, 'c'), baseSize, warn: (m) => warnings.push(m) });
  t.is(meta.skipped.length, 1);
  t.regex(meta.skipped[0]!.path, /broken\.jpg$/);
  t.true(warnings.some((w) => w.includes('broken.jpg')));
  t.is(meta.counts.train, 4);
  // Four training images and a batch of 16: refused saying which batch size would do.
  const few = await readDataCache(path.join(root, 'c'));
  await t.throwsAsync(async () => train(await newRun(path.join(root, 'run'), tiny, { config: config() }), few), { message: /4 training images is fewer than one batch of 16: pass --batch-size 4 or less, or add images/ });
});

test('train stopped by SIGTERM: a checkpoint saved, exit 1 saying how to go on; --resume then finishes the run', async (t) => {
  const { startAlexnet, alexnet } = await import('../data-fixtures.js');
  const out = path.join(await tempDir('train-sigterm'), 'run');
  // Epochs enough that it is still training whenever this (busy) test process reads its output.
  const args = ['train', '--data', dataDir, '--out', out, '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--batch-size', '16', '--patience', '1000', '--no-ten-crop'];
  const run = startAlexnet([...args, '--epochs', '1000']);
  // Stopped once training is under way (its first epoch line, or a step's progress line).
  let seen = '';
  let sent = false;
  run.child.stderr!.on('data', (d) => {
    seen += d;
    if (!sent && /epoch 1\/1000: \d+\/\d+|epoch 1: loss/.test(seen)) {
      sent = true;
      run.child.kill('SIGTERM');
    }
  });
  const stopped = await run.done;
  t.is(stopped.code, 1, stopped.stderr);
  t.regex(stopped.stderr, /alexnet: training stopped by SIGTERM: the checkpoint is saved; the same command with --resume goes on/);
  t.true((await fs.stat(path.join(out, 'checkpoint.json'))).isFile());
  const done = JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8')).training.epoch as number;
  t.true(done < 1000);
  const resumed = await alexnet([...args, '--resume', '--epochs', String(done + 1)]);
  t.is(resumed.code, 0, resumed.stderr);
  t.is(JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8')).training.epoch, done + 1);
});

test('one train per --out at a time: a second is refused naming the first, a lock left by a dead process is taken over', async (t) => {
  const { startAlexnet, alexnet } = await import('../data-fixtures.js');
  const out = path.join(await tempDir('train-lock'), 'run');
  const args = ['train', '--data', dataDir, '--out', out, '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--batch-size', '16', '--patience', '1000', '--no-ten-crop'];
  const first = startAlexnet([...args, '--epochs', '1000']);
  let seen = '';
  const training = new Promise<void>((resolve) => first.child.stderr!.on('data', (d) => ((seen += d), /epoch 1\/1000/.test(seen) && resolve())));
  await Promise.race([training, first.done]);
  t.is(first.child.exitCode, null, `the first run ended before training: ${seen}`);
  const second = await alexnet([...args, '--epochs', '1']);
  first.child.kill('SIGTERM');
  await first.done;
  t.is(second.code, 1);
  t.regex(second.stderr, new RegExp(`the run directory .*run is in use by process ${first.child.pid} on `));
  // The first's lock went with it; one left by a process that no longer runs is no obstacle either.
  await fs.writeFile(path.join(out, '.alexnet-train.lock'), JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname(), since: 'then' }));
  const resumed = await alexnet([...args, '--resume', '--epochs', String(JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8')).training.epoch + 1)]);
  t.is(resumed.code, 0, resumed.stderr);
  await t.throwsAsync(fs.stat(path.join(out, '.alexnet-train.lock')), undefined, 'released at the end');
});

test('two trains on one photo folder at once: the folder is prepared once, the other waits for it and both train', async (t) => {
  const { startAlexnet } = await import('../data-fixtures.js');
  const root = await tempDir('train-same-folder');
  const photos = path.join(root, 'photos');
  await writeSyntheticDataset({ out: photos, perClassTrain: 60, perClassVal: 10, size: 48 });
  const run = (name: string) => startAlexnet(['train', '--data', photos, '--out', path.join(root, name), '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--max-steps', '2', '--no-ten-crop']);
  const [a, b] = await Promise.all([run('a').done, run('b').done]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  const prepared = [a, b].filter((r) => /preparing images: 280\/280/.test(r.stderr));
  t.is(prepared.length, 1, 'one of them prepared the folder, the other used its cache');
  t.log([a, b].map((r) => (/waiting for process/.test(r.stderr) ? 'waited' : 'did not wait')).join(', '));
});
