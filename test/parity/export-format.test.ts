/**
 * The exported files seen from outside: Debian's onnx checker, the standard ops the issue asks
 * for (LRN with converted alpha, Conv group=2, Gemm, opset 13), the metadata, each file's
 * doc_string followed word for word as an outside consumer would, and failures that leave nothing
 * behind.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { PRESETS } from '../../src/config.js';
import { exportCheckpoint } from '../../src/export/export-model.js';
import { tenCropPath } from '../../src/model/model-files.js';
import { writeCheckpoint } from '../../src/model/checkpoint.js';
import { initParameters, writeInitCheckpoint } from '../../src/model/init.js';
import { readModelMetadata } from '../../src/model/onnx-metadata.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

const { onnx } = onnxProto;
const run = promisify(execFile);
// Debian's python3-onnx installs for the system interpreter (a pyenv python3 on PATH lacks it).
const PYTHON = '/usr/bin/python3';


async function exported(preset: 'tiny' | 'mini' = 'tiny'): Promise<{ dir: string; single: string; ten: string }> {
  const dir = await tempDir('format');
  await writeInitCheckpoint({ preset: PRESETS[preset], classes: 3, labels: ['cat', 'dog', 'bird'], seed: 1, out: path.join(dir, 'ck') });
  await exportCheckpoint(path.join(dir, 'ck'), path.join(dir, 'm.onnx'));
  return { dir, single: path.join(dir, 'm.onnx'), ten: path.join(dir, 'm.tencrop.onnx') };
}

/** Files in `dir` other than `keep`: what a failed export must not leave. */
async function leftovers(dir: string, keep: string[]): Promise<string[]> {
  return (await fs.readdir(dir)).filter((f) => !keep.includes(f));
}

test("Debian's onnx checker (full_check, shape inference) accepts both files", async (t) => {
  try {
    await run(PYTHON, ['-c', 'import onnx']);
  } catch (e) {
    t.fail(`${PYTHON} cannot import onnx: install Debian's python3-onnx (apt-get install python3-onnx). ${String((e as { stderr?: string }).stderr ?? e).trim().split('\n').pop()}`);
    return;
  }
  const { single, ten } = await exported('mini');
  const script = `
import onnx, sys
for f in sys.argv[1:]:
    m = onnx.load(f)
    onnx.checker.check_model(m, full_check=True)
    g = onnx.shape_inference.infer_shapes(m, strict_mode=True).graph
    print(f, m.ir_version, [(o.name, [d.dim_value or d.dim_param for d in o.type.tensor_type.shape.dim]) for o in g.output])
`;
  const out = (await run(PYTHON, ['-c', script, single, ten])).stdout;
  t.log(out.trim());
  t.regex(out, /m\.onnx [78] \[\('probabilities', \['batch', 3\]\), \('fc7', \['batch', 512\]\)\]/);
  t.regex(out, /m\.tencrop\.onnx [78] \[\('probabilities', \['batch', 3\]\), \('fc7', \['batch', 512\]\)\]/);
  // The checker can fail: a node reading a value nothing defines is refused.
  const broken = path.join(path.dirname(single), 'broken.onnx');
  const model = onnx.ModelProto.decode(await fs.readFile(single));
  model.graph!.node!.find((n) => n.name === 'conv2')!.input![0] = 'undefined_value';
  await fs.writeFile(broken, onnx.ModelProto.encode(model).finish());
  await t.throwsAsync(run(PYTHON, ['-c', script, broken]));
});

test('standard ops: opset 13, LRN size 5 alpha 5e-4 (the paper LRN), Conv group 2 on conv2/4/5, Gemm fc6-8, named initializers', async (t) => {
  const { single, ten } = await exported();
  for (const file of [single, ten]) {
    const model = onnx.ModelProto.decode(await fs.readFile(file));
    t.true([7, 8].includes(Number(model.irVersion)), `IR version ${model.irVersion}`);
    t.is(model.producerName, 'alexnet');
    t.is(model.producerVersion, (JSON.parse(await fs.readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
    t.true(model.opsetImport.some((o) => (o.domain ?? '') === '' && Number(o.version) >= 13));
    const nodes = model.graph!.node!;
    const attr = (n: (typeof nodes)[number], name: string) => n.attribute!.find((a) => a.name === name);
    const lrn = nodes.filter((n) => n.opType === 'LRN');
    t.deepEqual(lrn.map((n) => n.name), ['conv1_lrn', 'conv2_lrn']);
    for (const n of lrn) {
      t.is(Number(attr(n, 'size')!.i), 5);
      t.true(Math.abs(attr(n, 'alpha')!.f! - 5e-4) < 1e-10, `alpha ${attr(n, 'alpha')!.f}`);
      t.is(attr(n, 'beta')!.f, 0.75);
      t.is(attr(n, 'bias')!.f, 2);
    }
    const groups = Object.fromEntries(nodes.filter((n) => n.opType === 'Conv').map((n) => [n.name, Number(attr(n, 'group')!.i)]));
    t.deepEqual(groups, { conv1: 1, conv2: 2, conv3: 1, conv4: 2, conv5: 2 });
    t.deepEqual(nodes.filter((n) => n.opType === 'Gemm').map((n) => n.name), ['fc6', 'fc7', 'fc8']);
    t.deepEqual(nodes.filter((n) => n.opType === 'MaxPool').map((n) => n.name), ['conv1_pool', 'conv2_pool', 'conv5_pool']);
    const inits = model.graph!.initializer!.map((i) => i.name!);
    for (const layer of ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']) {
      t.true(inits.includes(`${layer}.weight`) && inits.includes(`${layer}.bias`), layer);
    }
    const conv2 = model.graph!.initializer!.find((i) => i.name === 'conv2.weight')!;
    t.deepEqual(conv2.dims!.map(Number), [8, 4, 3, 3]); // [out, in/group, kh, kw]
  }
  const inputs = (f: string) => fs.readFile(f).then((b) => onnx.ModelProto.decode(b).graph!.input!.map((i) => [i.name, i.type!.tensorType!.elemType]));
  t.deepEqual(await inputs(single), [['input', onnx.TensorProto.DataType.FLOAT]]);
  t.deepEqual(await inputs(ten), [['images', onnx.TensorProto.DataType.UINT8]]);
});

test('metadata round-trips: labels, preset, sizes, per-channel mean, format version, checkpoint hash, form', async (t) => {
  const { dir, single, ten } = await exported();
  const ck = JSON.parse(await fs.readFile(path.join(dir, 'ck', 'checkpoint.json'), 'utf8'));
  const a = await readModelMetadata(single);
  const b = await readModelMetadata(ten);
  t.deepEqual(a.labels, ['cat', 'dog', 'bird']);
  t.is(a.preset, 'tiny');
  t.is(a.inputSize, 25);
  t.is(a.baseSize, 29);
  t.is(a.embeddingDimension, 16);
  t.deepEqual(a.mean, { kind: 'channel', values: [127.5, 127.5, 127.5] });
  t.is(a.formatVersion, 1);
  t.regex(a.checkpointSha256, /^[0-9a-f]{64}$/);
  t.is(a.checkpointSha256, ck.sha256);
  t.is(a.form, 'single-crop');
  t.is(b.form, 'ten-crop');
  t.deepEqual({ ...b, form: 'single-crop' }, a);
});

test('metadata round-trips a mean image bit for bit in both files, and it is the ten-crop graph initializer', async (t) => {
  const dir = await tempDir('format');
  const spec = PRESETS.tiny.network;
  const rng = new Rng(5);
  const mean = Float32Array.from({ length: spec.baseSize * spec.baseSize * 3 }, () => rng.uniform() * 255);
  const labels = ['a', 'b'];
  await writeCheckpoint(path.join(dir, 'ck'), { preset: 'tiny', network: spec, classes: 2, labels, mean: { kind: 'image', tensor: 'mean' } }, [
    ...initParameters(spec, 2, rng),
    { name: 'mean', shape: [spec.baseSize, spec.baseSize, 3], data: mean },
  ]);
  const out = path.join(dir, 'm.onnx');
  await exportCheckpoint(path.join(dir, 'ck'), out);
  for (const file of [out, tenCropPath(out)]) {
    const m = await readModelMetadata(file);
    if (m.mean.kind !== 'image') return t.fail(`${file}: mean kind ${m.mean.kind}`);
    t.deepEqual(m.mean.shape, [29, 29, 3]);
    t.deepEqual(Buffer.from(m.mean.data.buffer, m.mean.data.byteOffset, m.mean.data.byteLength), Buffer.from(mean.buffer));
  }
  const ten = onnx.ModelProto.decode(await fs.readFile(tenCropPath(out)));
  const init = ten.graph!.initializer!.find((i) => i.name === 'mean')!;
  t.deepEqual(init.dims!.map(Number), [29, 29, 3]);
  t.deepEqual(Buffer.from(init.rawData!), Buffer.from(mean.buffer));
  const single = onnx.ModelProto.decode(await fs.readFile(out));
  t.false(single.graph!.initializer!.some((i) => i.name === 'mean'), 'the single-crop graph takes mean-subtracted input');
});

test('errors: missing, corrupt or unknown-preset checkpoint -> CheckpointError; nothing written, an earlier model kept', async (t) => {
  const { dir, single } = await exported();
  const before = await fs.readFile(single);
  const keep = await fs.readdir(dir);
  await t.throwsAsync(exportCheckpoint(path.join(dir, 'nope'), path.join(dir, 'x.onnx')), { name: 'CheckpointError', message: /no such file/ });

  const ckDir = path.join(dir, 'ck');
  const jsonPath = path.join(ckDir, 'checkpoint.json');
  const json = await fs.readFile(jsonPath, 'utf8');
  const weights = (await fs.readdir(ckDir)).find((f) => f.startsWith('weights-'))!;
  const bytes = await fs.readFile(path.join(ckDir, weights));
  bytes[8] = bytes[8]! ^ 1;
  await fs.writeFile(path.join(ckDir, weights), bytes);
  await t.throwsAsync(exportCheckpoint(ckDir, single), { name: 'CheckpointError', message: /corrupt: SHA-256/ });
  bytes[8] = bytes[8]! ^ 1;
  await fs.writeFile(path.join(ckDir, weights), bytes);

  await fs.writeFile(jsonPath, json.slice(0, json.length / 2));
  await t.throwsAsync(exportCheckpoint(ckDir, single), { name: 'CheckpointError', message: /corrupt: not valid JSON/ });
  await fs.writeFile(jsonPath, json.replace('"preset": "tiny"', '"preset": "huge"'));
  await t.throwsAsync(exportCheckpoint(ckDir, single), { name: 'CheckpointError', message: /unknown preset 'huge'/ });

  t.deepEqual(await fs.readFile(single), before, 'the earlier model at the output path is untouched');
  t.deepEqual(await leftovers(dir, keep), []);
});

test('errors: an output path that cannot be written -> ModelFileError saying why; no file and no temp file left', async (t) => {
  const { dir } = await exported();
  const ck = path.join(dir, 'ck');
  const keep = await fs.readdir(dir);
  await t.throwsAsync(exportCheckpoint(ck, path.join(dir, 'no-such-dir', 'z.onnx')), {
    name: 'ModelFileError',
    message: /cannot write the model to .*z\.tencrop\.onnx: directory .*no-such-dir does not exist/,
  });
  await fs.writeFile(path.join(dir, 'a-file'), 'x');
  keep.push('a-file');
  await t.throwsAsync(exportCheckpoint(ck, path.join(dir, 'a-file', 'z.onnx')), { name: 'ModelFileError', message: /a-file is not a directory/ });
  // The output path is a directory: both files are written to temporary names, the ten-crop model
  // is renamed into place, then the rename onto the directory fails; the ten-crop model goes too.
  await fs.mkdir(path.join(dir, 'w.onnx'));
  keep.push('w.onnx');
  await t.throwsAsync(exportCheckpoint(ck, path.join(dir, 'w.onnx')), { name: 'ModelFileError', message: /cannot write the model to .*w\.onnx: .*w\.onnx is a directory/ });
  t.deepEqual(await fs.readdir(path.join(dir, 'w.onnx')), []);
  // A directory without write permission (root ignores permissions, so only as another user).
  const locked = path.join(dir, 'locked');
  await fs.mkdir(locked, { mode: 0o500 });
  keep.push('locked');
  if (process.getuid?.() === 0) {
    t.log('running as root: file permissions do not apply, the read-only directory case is not exercised');
    t.is(process.getuid?.(), 0);
  } else {
    await t.throwsAsync(exportCheckpoint(ck, path.join(locked, 'l.onnx')), { name: 'ModelFileError', message: /no permission to write in .*locked/ });
  }
  t.deepEqual(await fs.readdir(locked), []);
  t.deepEqual(await leftovers(dir, keep), []);
  await t.throwsAsync(exportCheckpoint(ck, path.join(dir, 'same.onnx'), { tenCropPath: path.join(dir, 'same.onnx') }), { name: 'ModelFileError' });
  // A name the server would not find is refused before anything is written.
  for (const name of ['model.txt', 'model', 'model.tencrop.onnx']) {
    await t.throwsAsync(exportCheckpoint(ck, path.join(dir, name)), { name: 'ModelFileError', message: /must end in \.onnx/ });
  }
  t.false((await fs.readdir(dir)).some((f) => f.startsWith('model')), 'nothing written');
  await t.throwsAsync(exportCheckpoint(ck, `${dir}/`), { name: 'ModelFileError', message: new RegExp(`e\\.g\\. ${dir}/model\\.onnx$`) });
});

test('the ten-crop file is named <name>.tencrop.onnx beside the single-crop file', (t) => {
  t.is(tenCropPath('a/model.onnx'), 'a/model.tencrop.onnx');
  t.is(tenCropPath('model'), 'model.tencrop.onnx');
});

test('doctor probe: cpu runs every op of the exported graphs; every other provider says why or which ops it leaves', async (t) => {
  const { EXECUTION_PROVIDERS, opsLeftToCpu, probeExecutionProviders } = await import('../../src/serve/execution-providers.js');
  const probes = await probeExecutionProviders(); // first: it quiets onnxruntime's native log
  t.deepEqual(await opsLeftToCpu({ executionProviders: ['cpu'], logSeverityLevel: 4 }), []);
  t.deepEqual(probes.map((p) => p.name), [...EXECUTION_PROVIDERS]);
  for (const p of probes) {
    t.log(`${p.name}: ${p.available ? 'available' : 'unavailable'}: ${p.detail}`);
    t.true(p.detail.length > 0);
    if (p.available && p.name !== 'cpu') t.true(Array.isArray(p.cpuOps), `${p.name} must list the ops it leaves to the CPU`);
  }
  t.true(probes.find((p) => p.name === 'cpu')!.available);
});

test("each file's doc_string is a recipe an outside consumer can follow: the single-crop file's range, crop and mean, applied to the ten crops the ten-crop file names, average to the ten-crop file's answer", async (t) => {
  // mini: B - S = 5 is odd, so the center crop sits at floor(5 / 2) = 2, where a rounding consumer would take 3.
  const dir = await tempDir('format');
  const spec = PRESETS.mini.network;
  const B = spec.baseSize;
  const S = spec.inputSize;
  const rng = new Rng(11);
  const meanImage = Float32Array.from({ length: B * B * 3 }, () => 60 + rng.uniform() * 120);
  await writeCheckpoint(path.join(dir, 'ck'), { preset: 'mini', network: spec, classes: 3, labels: ['a', 'b', 'c'], mean: { kind: 'image', tensor: 'mean' } }, [
    ...initParameters(spec, 3, rng),
    { name: 'mean', shape: [B, B, 3], data: meanImage },
  ]);
  const out = path.join(dir, 'm.onnx');
  await exportCheckpoint(path.join(dir, 'ck'), out);
  const singleDoc = onnx.ModelProto.decode(await fs.readFile(out)).docString ?? '';
  const tenDoc = onnx.ModelProto.decode(await fs.readFile(tenCropPath(out))).docString ?? '';
  t.log(singleDoc);
  t.log(tenDoc);
  // What the words say, read from the words.
  const range = /pixel values 0-(\d+) minus the mean, not scaled/.exec(singleDoc);
  const crop = /cut the (\d+)x(\d+) crop at x=(\d+), y=(\d+)/.exec(singleDoc);
  const meanWords = /a (\d+)x(\d+)x3 HWC image: subtract its pixels under the crop/.exec(singleDoc);
  const tenInput = /input uint8 \[N,(\d+),(\d+),3\] \(NHWC\), raw RGB 0-255/.exec(tenDoc);
  const tenCenter = /center at x=y=(\d+)/.exec(tenDoc);
  if (!range || !crop || !meanWords || !tenInput || !tenCenter) return t.fail('a doc_string does not say the value range, the crop, the mean image or the ten-crop input');
  t.deepEqual([Number(crop[1]), Number(crop[2]), Number(meanWords[1]), Number(tenInput[1])], [S, S, B, B]);
  const scale = Number(range[1]) / 255;
  const cx = Number(crop[3]);
  const cy = Number(crop[4]);
  t.is(Number(tenCenter[1]), cx, "the two files' center crops are one");
  // The mean as an outside consumer reads it: the metadata's JSON, float32 little-endian in base64.
  const props = Object.fromEntries(onnx.ModelProto.decode(await fs.readFile(out)).metadataProps!.map((p) => [p.key, p.value]));
  const meanJson = JSON.parse(props['alexnet.mean']!) as { shape: number[]; data: string };
  const meanBytes = Buffer.from(meanJson.data, 'base64');
  const mean = (i: number) => meanBytes.readFloatLE(4 * i);
  // One image already at B x B, and its ten crops as the words describe them.
  const image = Uint8Array.from({ length: B * B * 3 }, () => Math.floor(rng.uniform() * 256));
  const far = B - S;
  const recipe = (centerX: number, centerY: number) => {
    const places: [number, number][] = [[0, 0], [far, 0], [0, far], [far, far], [centerX, centerY]];
    const x = new Float32Array(10 * 3 * S * S);
    let k = 0;
    for (const mirrored of [false, true]) {
      for (const [px, py] of places) {
        for (let c = 0; c < 3; c++) {
          for (let r = 0; r < S; r++) {
            for (let q = 0; q < S; q++) {
              const src = ((py + r) * B + px + (mirrored ? S - 1 - q : q)) * 3 + c;
              x[((k * 3 + c) * S + r) * S + q] = image[src]! * scale - mean(src);
            }
          }
        }
        k++;
      }
    }
    return x;
  };
  const single = await ort.InferenceSession.create(out);
  const ten = await ort.InferenceSession.create(tenCropPath(out));
  const averaged = async (x: Float32Array) => {
    const p = (await single.run({ input: new ort.Tensor('float32', x, [10, 3, S, S]) })).probabilities!.data as Float32Array;
    return [0, 1, 2].map((j) => p.filter((_, i) => i % 3 === j).reduce((a, b) => a + b, 0) / 10);
  };
  const want = (await ten.run({ images: new ort.Tensor('uint8', image, [1, B, B, 3]) })).probabilities!.data as Float32Array;
  const diff = (p: number[]) => Math.max(...p.map((v, j) => Math.abs(v - want[j]!)));
  const followed = diff(await averaged(recipe(cx, cy)));
  const offByOne = diff(await averaged(recipe(cx + 1, cy + 1)));
  t.log(`documented recipe vs the ten-crop file: ${followed.toExponential(2)}; the center one pixel off: ${offByOne.toExponential(2)}`);
  t.true(followed < 1e-6, `the documented recipe gives ${followed} away from the ten-crop file`);
  t.true(offByOne > 100 * followed, 'the comparison can tell a crop one pixel off');
});
