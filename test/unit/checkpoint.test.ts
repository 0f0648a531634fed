/** Checkpoints: round trip, self-description, corruption caught, and writes that cannot tear. */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PRESETS } from '../../src/config.js';
import { readCheckpoint, writeCheckpoint } from '../../src/model/checkpoint.js';
import { initParameters, writeInitCheckpoint } from '../../src/model/init.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

const meta = (labels = ['a', 'b', 'c']) => ({
  preset: 'tiny' as const,
  network: PRESETS.tiny.network,
  classes: labels.length,
  labels,
  mean: { kind: 'channel' as const, values: [1, 2, 3] as [number, number, number] },
});

test('a checkpoint reads back bit for bit, with its spec, labels and mean', async (t) => {
  const dir = await tempDir('ckpt');
  const tensors = initParameters(PRESETS.tiny.network, 3, new Rng(9));
  await writeCheckpoint(dir, { ...meta(), training: { epoch: 4, lr: 0.001 } }, tensors);
  const ck = await readCheckpoint(dir);
  t.deepEqual(ck.labels, ['a', 'b', 'c']);
  t.deepEqual(ck.network, PRESETS.tiny.network);
  t.deepEqual(ck.mean, { kind: 'channel', values: [1, 2, 3] });
  t.deepEqual(ck.training, { epoch: 4, lr: 0.001 });
  for (const want of tensors) {
    const got = ck.tensors.get(want.name);
    t.truthy(got, want.name);
    t.deepEqual(got!.shape, want.shape);
    t.deepEqual(Buffer.from(got!.data.buffer, got!.data.byteOffset, got!.data.byteLength), Buffer.from(want.data.buffer));
  }
  t.regex(ck.sha256, /^[0-9a-f]{64}$/);
});

test('a flipped byte in the weights is reported as corruption', async (t) => {
  const dir = await tempDir('ckpt');
  await writeInitCheckpoint({ preset: PRESETS.tiny, classes: 3, seed: 1, out: dir });
  const weights = (await fs.readdir(dir)).find((f) => f.startsWith('weights-'))!;
  const bytes = await fs.readFile(path.join(dir, weights));
  bytes[100] = bytes[100]! ^ 0xff;
  await fs.writeFile(path.join(dir, weights), bytes);
  await t.throwsAsync(readCheckpoint(dir), { name: 'CheckpointError', message: /corrupt/ });
});

test('missing, non-JSON and foreign checkpoints give clear errors', async (t) => {
  const dir = await tempDir('ckpt');
  await t.throwsAsync(readCheckpoint(path.join(dir, 'none')), { name: 'CheckpointError', message: /no such file/ });
  await fs.writeFile(path.join(dir, 'checkpoint.json'), '{"format": "alexnet-checkp');
  await t.throwsAsync(readCheckpoint(dir), { name: 'CheckpointError', message: /not valid JSON/ });
  await fs.writeFile(path.join(dir, 'checkpoint.json'), '{"format": "something-else"}');
  await t.throwsAsync(readCheckpoint(dir), { name: 'CheckpointError', message: /not an AlexNet checkpoint/ });
  await fs.writeFile(path.join(dir, 'checkpoint.json'), JSON.stringify({ format: 'alexnet-checkpoint', version: 1, preset: 'huge' }));
  await t.throwsAsync(readCheckpoint(dir), { name: 'CheckpointError', message: /unknown preset 'huge'/ });
});

test('an exported model, a folder of exports or the weights file given for a checkpoint are named as such, not as a missing checkpoint.json under them', async (t) => {
  const dir = await tempDir('ckpt');
  // What `alexnet export` leaves: model.onnx and its sibling (their bytes do not matter here).
  const models = path.join(dir, 'models');
  await fs.mkdir(models);
  await fs.writeFile(path.join(models, 'model.onnx'), 'onnx');
  await fs.writeFile(path.join(models, 'model.tencrop.onnx'), 'onnx');
  const modelFile = path.join(models, 'model.onnx');
  const e1 = await t.throwsAsync(readCheckpoint(modelFile), { name: 'CheckpointError' });
  t.is(e1?.message, `${modelFile} is an exported model, not a checkpoint: give the checkpoint's directory, the one holding checkpoint.json (create one with 'alexnet init' or 'alexnet train')`);
  const e2 = await t.throwsAsync(readCheckpoint(models), { name: 'CheckpointError' });
  t.is(e2?.message, `${models} holds an exported model (model.onnx, model.tencrop.onnx), not a checkpoint: give the checkpoint's directory, the one holding checkpoint.json (create one with 'alexnet init' or 'alexnet train')`);
  // The weights file of a real checkpoint: its folder is the one to give.
  const ck = path.join(dir, 'ck');
  await writeInitCheckpoint({ preset: PRESETS.tiny, classes: 3, seed: 1, out: ck });
  const weights = path.join(ck, (await fs.readdir(ck)).find((f) => f.startsWith('weights-'))!);
  const e3 = await t.throwsAsync(readCheckpoint(weights), { name: 'CheckpointError' });
  t.is(e3?.message, `${weights} is a file, not a checkpoint: give the checkpoint's directory, the one holding checkpoint.json (here: ${ck})`);
  t.is((await readCheckpoint(ck)).labels.length, 3, 'and that folder reads');
});

test('a failed write leaves the last good checkpoint readable and no temporary files', async (t) => {
  const dir = await tempDir('ckpt');
  const first = initParameters(PRESETS.tiny.network, 3, new Rng(1));
  await writeCheckpoint(dir, meta(), first);
  const good = await readCheckpoint(dir);
  // A tensor of the wrong shape is refused before anything is written.
  const bad = initParameters(PRESETS.tiny.network, 4, new Rng(2));
  await t.throwsAsync(writeCheckpoint(dir, meta(), bad), { name: 'CheckpointError', message: /fc8.weight has shape/ });
  // A directory that turned read-only (disk full, permissions) fails the write midway.
  if (process.getuid?.() !== 0) {
    await fs.chmod(dir, 0o500);
    await t.throwsAsync(writeCheckpoint(dir, meta(), initParameters(PRESETS.tiny.network, 3, new Rng(3))));
    await fs.chmod(dir, 0o700);
  }
  const after = await readCheckpoint(dir);
  t.is(after.sha256, good.sha256);
  const names = await fs.readdir(dir);
  t.deepEqual(names.filter((n) => n.includes('.tmp-')), []);
  // Writing new weights removes the old weights file once the new checkpoint.json is in place.
  await writeCheckpoint(dir, meta(), initParameters(PRESETS.tiny.network, 3, new Rng(4)));
  t.is((await fs.readdir(dir)).filter((n) => n.startsWith('weights-')).length, 1);
  t.not((await readCheckpoint(dir)).sha256, good.sha256);
});
