/**
 * A trained checkpoint and its exported ONNX files give the same predictions on the same image
 * files: the export's parity seen from a user's side (`alexnet eval`).
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PRESETS } from '../../src/config.js';
import { decodeToSquare } from '../../src/image/decode.js';
import { loadLabelledImages } from '../../src/train/labelled-images.js';
import { evalOnnx } from '../../src/export/eval-onnx.js';
import { exportCheckpoint } from '../../src/export/export-model.js';
import { useBackend } from '../../src/train/backends.js';
import { evalCheckpoint } from '../../src/train/eval-checkpoint.js';
import { readDataCache } from '../../src/train/data-cache.js';
import { prepareFolder } from '../../src/train/prepare-folder.js';
import { writeSyntheticDataset } from '../../src/train/synthetic.js';
import { train } from '../../src/train/trainer.js';
import { newRun } from '../../src/train/training-run.js';
import { tempDir } from '../temp-dir.js';

test('checkpoint (tfjs) and exported model (onnxruntime): same top-1 class for every image, ten crops and center', async (t) => {
  await useBackend('cpu');
  const root = await tempDir('eval');
  const tiny = PRESETS.tiny;
  await writeSyntheticDataset({ out: path.join(root, 'data'), perClassTrain: 24, perClassVal: 10, size: 34, seed: 4 });
  await prepareFolder({ data: path.join(root, 'data'), out: path.join(root, 'cache'), baseSize: tiny.network.baseSize });
  const data = await readDataCache(path.join(root, 'cache'));
  const ck = path.join(root, 'ck');
  const config = { preset: 'tiny' as const, ...tiny.train, batchSize: 16, epochs: 10, learningRate: 0.02, patience: 100, maxDrops: 3, seed: 5, lightingStd: 0.1, workers: 1, tenCropEachEpoch: false };
  await train(await newRun(ck, tiny, { config }), data);
  await exportCheckpoint(ck, path.join(root, 'model.onnx'));
  for (const center of [false, true]) {
    const a = await evalCheckpoint(ck, path.join(root, 'data'), center, 'cpu');
    const b = await evalOnnx(path.join(root, 'model.onnx'), path.join(root, 'data'), center);
    t.is(a.count, 40);
    t.deepEqual(Array.from(b.predictions), Array.from(a.predictions), center ? 'center crop' : 'ten crops');
    t.is(a.top1, b.top1);
    t.is(a.top5, b.top5);
    // Not vacuous: the model tells the classes apart, so the predictions vary from image to image.
    t.true(new Set(a.predictions).size >= 3, `classes predicted: ${[...new Set(a.predictions)]}`);
    t.log(`${center ? 'center' : 'ten crops'}: tfjs top-1 error ${a.top1}, onnxruntime ${b.top1}; classes predicted ${[...new Set(a.predictions)].sort()}`);
  }
  // --split train: the training images, read from the folder (decoded here) and from the cache
  // (decoded when it was prepared): the same images, so the same predictions.
  const fromFolder = await evalOnnx(path.join(root, 'model.onnx'), path.join(root, 'data'), true, { split: 'train' });
  const fromCache = await evalOnnx(path.join(root, 'model.onnx'), path.join(root, 'cache'), true, { split: 'train' });
  const byTfjs = await evalCheckpoint(ck, path.join(root, 'cache'), true, 'cpu', { split: 'train' });
  t.is(fromFolder.count, 96);
  t.is(fromCache.count, 96);
  t.deepEqual(Array.from(fromCache.predictions), Array.from(fromFolder.predictions));
  t.deepEqual(Array.from(byTfjs.predictions), Array.from(fromCache.predictions));
  t.is((await evalOnnx(path.join(root, 'model.onnx'), path.join(root, 'cache'), true, { split: 'val' })).count, 40);
  await t.throwsAsync(evalOnnx(path.join(root, 'model.onnx'), path.join(root, 'data'), true, { split: 'test' }), { message: /has no test\/ folder/ });
  t.log(`train split: top-1 error ${fromCache.top1} (val: see above)`);
});

test('a folder is decoded into a temporary raw file, not memory: the same pixels as decodeToSquare, one record per image, removed by dispose()', async (t) => {
  const root = await tempDir('eval-folder');
  await writeSyntheticDataset({ out: path.join(root, 'data'), perClassTrain: 3, perClassVal: 2, size: 34, seed: 6 });
  const base = PRESETS.tiny.network.baseSize;
  const data = await loadLabelledImages(path.join(root, 'data'), base, 'val');
  t.false('images' in data.split, 'the split is on disk');
  const file = (data.split as { file: string }).file;
  const px = base * base * 3;
  t.is((await fs.stat(file)).size, data.split.count * px);
  // The oracle: every file of the folder decoded here, in the loader's order (classes sorted, files sorted).
  const records = await fs.readFile(file);
  let i = 0;
  for (const cls of data.classes) {
    for (const f of (await fs.readdir(path.join(root, 'data', 'val', cls))).sort()) {
      const want = (await decodeToSquare(await fs.readFile(path.join(root, 'data', 'val', cls, f)), { size: base })).data;
      t.true(Buffer.from(want).equals(records.subarray(i * px, (i + 1) * px)), `${cls}/${f}`);
      t.is(data.split.labels[i], data.classes.indexOf(cls));
      i++;
    }
  }
  t.is(i, data.split.count);
  await data.dispose();
  await t.throwsAsync(fs.stat(file), { code: 'ENOENT' });
});

test('a folder none of whose images can be read is refused, naming it, not scored as 0 images with a NaN error', async (t) => {
  const root = await tempDir('eval-unreadable');
  for (const cls of ['a', 'b']) {
    await fs.mkdir(path.join(root, cls));
    // A GIF and a cut-short file, both named .jpg: each skipped with its reason.
    await fs.writeFile(path.join(root, cls, 'x.jpg'), Buffer.from('GIF89a not really'));
    await fs.writeFile(path.join(root, cls, 'y.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
  }
  await t.throwsAsync(loadLabelledImages(root, PRESETS.tiny.network.baseSize), { name: 'ConfigError', message: /no readable image in .*: all 4 were skipped/ });
});
