/**
 * The exported ten-crop model on onnxruntime's WebGPU provider against its cpu provider: the
 * shipped model and a paper-size network (random init, as `alexnet init --preset paper` makes),
 * the same decoded images through both. Runs on any WebGPU adapter, in CI on lavapipe (Mesa >= 24,
 * which .ci/run installs); skipped, with the reason, where there is none (no GPU, or Debian 12's
 * own Mesa 22 lavapipe, which Dawn refuses). Speed is measured on the GPU machine
 * (bench/device/run.sh).
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { probeExecutionProviders } from '../../src/serve/execution-providers.js';
import { Rng } from '../../src/util/rng.js';
import { AlexNetClient } from '../../src/serve/client.js';
import { startServer } from '../../src/serve/server.js';
import { publish } from '../reload-fixtures.js';
import { byIndex, cli, loadOracle, maxDiff, MODEL, png, quiet } from '../serve-fixtures.js';
import { readModelMetadata } from '../../src/model/onnx-metadata.js';

const probe = (await probeExecutionProviders()).find((p) => p.name === 'webgpu')!;
// One at a time: the tests' own WebGPU sessions must not run beside a server's (gpu-run-lock.ts).
const run = probe.available ? test.serial : test.skip;
const why = probe.available ? '' : ` [skipped: ${probe.detail.slice(0, 160)}]`;

const relative = (got: Float32Array, want: Float32Array) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    m = Math.max(m, Math.abs(want[i]!));
  }
  return m === 0 ? d : d / m;
};

async function outputsOn(provider: 'cpu' | 'webgpu', file: string, images: Uint8Array, n: number, base: number) {
  const session = await ort.InferenceSession.create(file, { executionProviders: [provider], graphOptimizationLevel: 'all' });
  try {
    const out = await session.run({ images: new ort.Tensor('uint8', images, [n, base, base, 3]) });
    return { p: out.probabilities!.data as Float32Array, fc7: out.fc7!.data as Float32Array };
  } finally {
    await session.release();
  }
}

async function compare(t: import('ava').ExecutionContext, file: string, n: number) {
  const meta = await readModelMetadata(file);
  const rng = new Rng(11);
  const images = Uint8Array.from({ length: n * meta.baseSize * meta.baseSize * 3 }, () => rng.int(256));
  const cpu = await outputsOn('cpu', file, images, n, meta.baseSize);
  const gpu = await outputsOn('webgpu', file, images, n, meta.baseSize);
  const [ep, ef] = [relative(gpu.p, cpu.p), relative(gpu.fc7, cpu.fc7)];
  t.log(`${file}: probabilities relative error ${ep.toExponential(2)}, fc7 ${ef.toExponential(2)}`);
  t.true(ep <= 1e-3 && ef <= 1e-3, `webgpu vs cpu: probabilities ${ep}, fc7 ${ef}`);
}

run(`shipped model, ten crops of 8 images: webgpu provider equals cpu provider (relative 1e-3)${why}`, async (t) => {
  await compare(t, MODEL.replace(/\.onnx$/, '.tencrop.onnx'), 8);
});

// The paper-size export: ALEXNET_PAPER_ONNX names one (the GPU run makes it), or the slow tier
// (ALEXNET_SLOW=1) makes one here with `alexnet init --preset paper` and `alexnet export`.
const paper = process.env.ALEXNET_PAPER_ONNX;
const slow = Boolean(process.env.ALEXNET_SLOW);
const paperWhy = paper || slow ? '' : ' [skipped: neither ALEXNET_PAPER_ONNX nor the slow tier (ALEXNET_SLOW=1)]';
(probe.available && (paper || slow) ? test.serial : test.skip)(`paper-size network, ten crops of 4 images: webgpu provider equals cpu provider (relative 1e-3)${why || paperWhy}`, async (t) => {
  if (paper) return compare(t, paper, 4);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-paper-onnx-'));
  try {
    for (const args of [['init', '--preset', 'paper', '--out', path.join(dir, 'ckpt')], ['export', path.join(dir, 'ckpt'), '-o', path.join(dir, 'model.onnx')]]) {
      const r = await cli(...args);
      t.is(r.code, 0, r.err);
    }
    await compare(t, path.join(dir, 'model.tencrop.onnx'), 4);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

run(`alexnet serve --device webgpu (its inference workers on the WebGPU provider): Classify and Embed of 6 images equal onnxruntime's cpu provider run offline (relative 1e-3)${why}`, async (t) => {
  const oracle = await loadOracle();
  const server = await startServer({ model: MODEL, port: 0, device: 'webgpu', maxDelayMs: 5, logger: quiet });
  const client = new AlexNetClient(server.address);
  try {
    t.is(server.info.execution_provider, 'webgpu', 'GetModelInfo names the provider the workers run');
    const n = oracle.meta.labels.length;
    const images = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => png(k)));
    // Concurrent calls, so the workers' batches hold several images.
    const answers = await Promise.all(images.map((image) => client.classify({ image, top_k: n, include_embedding: true })));
    for (const [k, image] of images.entries()) {
      const off = await oracle.offline(image);
      const p = maxDiff(byIndex(answers[k]!.classes, n), off.p);
      const f = maxDiff(answers[k]!.embedding!.vector, off.fc7) / Math.max(...off.fc7.map(Math.abs));
      t.true(p <= 1e-3 && f <= 1e-3, `image ${k}: probabilities ${p}, fc7 ${f}`);
    }
  } finally {
    client.close();
    await server.shutdown('test done');
    await Promise.all([oracle.ten.release(), oracle.single.release()]);
  }
});

run(`serve --device webgpu --workers 3: 12 rounds of 8 concurrent calls, with a reload under them, all answered and equal to the cpu provider (onnxruntime's WebGPU provider crashes on runs that overlap: gpu-run-lock.ts)${why}`, async (t) => {
  const oracle = await loadOracle();
  // A model repository holding the shipped model as version 1; version 2 (the same files) is
  // published and loaded under the calls below.
  const repo = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-webgpu-repo-'));
  await publish(repo, 'mini', 1, path.dirname(MODEL));
  const server = await startServer({ modelDir: repo, port: 0, device: 'webgpu', workers: 3, maxBatch: 2, maxDelayMs: 1, logger: quiet });
  const client = new AlexNetClient(server.address);
  try {
    const n = oracle.meta.labels.length;
    const images = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((k) => png(k)));
    const want = await Promise.all(images.map((image) => oracle.offline(image)));
    let reloaded: Promise<unknown> = Promise.resolve();
    for (let r = 0; r < 12; r++) {
      // The new version's workers start and warm up while these calls run on the old one's.
      if (r === 4) reloaded = publish(repo, 'mini', 2, path.dirname(MODEL)).then(() => server.reload('test'));
      const answers = await Promise.all(images.map((image) => client.classify({ image, top_k: n })));
      for (const [k, a] of answers.entries()) t.true(maxDiff(byIndex(a.classes, n), want[k]!.p) <= 1e-3, `round ${r}, image ${k}`);
    }
    t.like(await reloaded, { status: 'loaded', to: '2' });
    t.is(server.info.model?.version, '2');
  } finally {
    client.close();
    await server.shutdown('test done');
    await Promise.all([oracle.ten.release(), oracle.single.release()]);
    await fs.rm(repo, { recursive: true, force: true });
  }
});
