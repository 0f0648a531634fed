/**
 * The exported files seen from outside: Debian's onnx checker, the standard ops the issue asks
 * for (LRN with converted alpha, Conv group=2, Gemm, opset 13), the metadata, and failures that
 * leave nothing behind.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import { PRESETS } from '../src/config.js';
import { exportCheckpoint, tenCropPath } from '../src/export/export-model.js';
import { writeInitCheckpoint } from '../src/model/init.js';
import { readModelMetadata } from '../src/model/onnx-metadata.js';

const { onnx } = onnxProto;
const run = promisify(execFile);
// Debian's python3-onnx installs for the system interpreter.
const PYTHON = '/usr/bin/python3';

async function exported(preset: 'tiny' | 'mini' = 'tiny'): Promise<{ dir: string; single: string; ten: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-format-'));
  await writeInitCheckpoint({ preset: PRESETS[preset], classes: 3, labels: ['cat', 'dog', 'bird'], seed: 1, out: path.join(dir, 'ck') });
  await exportCheckpoint(path.join(dir, 'ck'), path.join(dir, 'm.onnx'));
  return { dir, single: path.join(dir, 'm.onnx'), ten: path.join(dir, 'm.tencrop.onnx') };
}

test("Debian's onnx checker (full_check, shape inference) accepts both files", async (t) => {
  const { single, ten } = await exported('mini');
  const script = `
import onnx, sys
for f in sys.argv[1:]:
    m = onnx.load(f)
    onnx.checker.check_model(m, full_check=True)
    g = onnx.shape_inference.infer_shapes(m).graph
    print(f, [(o.name, [d.dim_value or d.dim_param for d in o.type.tensor_type.shape.dim]) for o in g.output])
`;
  let out: string;
  try {
    out = (await run(PYTHON, ['-c', script, single, ten])).stdout;
  } catch (e) {
    const msg = String((e as { stderr?: string }).stderr ?? e);
    if (/No module named 'onnx'/.test(msg)) t.fail("python3-onnx is missing: install Debian's python3-onnx (.ci/run does)");
    throw e;
  }
  t.log(out.trim());
  t.regex(out, /m\.onnx \[\('probabilities', \['batch', 3\]\), \('fc7', \['batch', 512\]\)\]/);
  t.regex(out, /m\.tencrop\.onnx \[\('probabilities', \['batch', 3\]\), \('fc7', \['batch', 512\]\)\]/);
});

test('standard ops: opset 13, LRN size 5 with alpha 5e-4, Conv group 2 on conv2/4/5, Gemm fc layers', async (t) => {
  const { single } = await exported();
  const model = onnx.ModelProto.decode(await fs.readFile(single));
  t.true(model.opsetImport.some((o) => (o.domain ?? '') === '' && Number(o.version) >= 13));
  const nodes = model.graph!.node!;
  const attr = (n: (typeof nodes)[number], name: string) => n.attribute!.find((a) => a.name === name);
  const lrn = nodes.filter((n) => n.opType === 'LRN');
  t.is(lrn.length, 2);
  for (const n of lrn) {
    t.is(Number(attr(n, 'size')!.i), 5);
    t.true(Math.abs(attr(n, 'alpha')!.f! - 5e-4) < 1e-10);
    t.is(attr(n, 'beta')!.f, 0.75);
    t.is(attr(n, 'bias')!.f, 2);
  }
  const groups = Object.fromEntries(nodes.filter((n) => n.opType === 'Conv').map((n) => [n.name, Number(attr(n, 'group')!.i)]));
  t.deepEqual(groups, { conv1: 1, conv2: 2, conv3: 1, conv4: 2, conv5: 2 });
  t.deepEqual(nodes.filter((n) => n.opType === 'Gemm').map((n) => n.name), ['fc6', 'fc7', 'fc8']);
  t.deepEqual(model.graph!.initializer!.map((i) => i.name).filter((n) => n!.endsWith('.weight')), ['conv1.weight', 'conv2.weight', 'conv3.weight', 'conv4.weight', 'conv5.weight', 'fc6.weight', 'fc7.weight', 'fc8.weight']);
});

test('metadata: labels, preset, sizes, mean, format version, checkpoint hash, form', async (t) => {
  const { dir, single, ten } = await exported();
  const ck = JSON.parse(await fs.readFile(path.join(dir, 'ck', 'checkpoint.json'), 'utf8'));
  const a = await readModelMetadata(single);
  const b = await readModelMetadata(ten);
  t.deepEqual(a.labels, ['cat', 'dog', 'bird']);
  t.is(a.preset, 'tiny');
  t.is(a.inputSize, 25);
  t.is(a.baseSize, 29);
  t.is(a.fc7Size, 16);
  t.deepEqual(a.mean, { kind: 'channel', values: [127.5, 127.5, 127.5] });
  t.is(a.formatVersion, 1);
  t.is(a.checkpointSha256, ck.sha256);
  t.is(a.form, 'single-crop');
  t.is(b.form, 'ten-crop');
});

test('errors: missing or corrupt checkpoint, unwritable output; nothing left behind', async (t) => {
  const { dir } = await exported();
  await t.throwsAsync(exportCheckpoint(path.join(dir, 'nope'), path.join(dir, 'x.onnx')), { name: 'CheckpointError', message: /no such file/ });
  const weights = (await fs.readdir(path.join(dir, 'ck'))).find((f) => f.startsWith('weights-'))!;
  const bytes = await fs.readFile(path.join(dir, 'ck', weights));
  bytes[8] = bytes[8]! ^ 1;
  await fs.writeFile(path.join(dir, 'ck', weights), bytes);
  await t.throwsAsync(exportCheckpoint(path.join(dir, 'ck'), path.join(dir, 'y.onnx')), { name: 'CheckpointError', message: /corrupt/ });
  const good = await exported();
  await t.throwsAsync(exportCheckpoint(path.join(good.dir, 'ck'), path.join(good.dir, 'no-such-dir', 'z.onnx')), { name: 'ModelFileError', message: /cannot write the model to .*z\.onnx/ });
  // The output path is a directory: the rename fails after both files were written to temporary names.
  await fs.mkdir(path.join(good.dir, 'w.onnx'));
  await t.throwsAsync(exportCheckpoint(path.join(good.dir, 'ck'), path.join(good.dir, 'w.onnx')));
  for (const d of [dir, good.dir]) {
    const left = (await fs.readdir(d)).filter((f) => f.includes('.tmp-') || ['x.onnx', 'y.onnx', 'y.tencrop.onnx', 'w.tencrop.onnx'].includes(f));
    t.deepEqual(left, [], `left in ${d}`);
  }
  t.is(tenCropPath('a/model.onnx'), 'a/model.tencrop.onnx');
});
