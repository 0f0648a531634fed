/**
 * npm run bench:train [-- --presets mini,paper --backends wasm --steps 6]
 *
 * In one run: the data pipeline's images/s alone (worker threads cutting random crops with flips
 * and PCA lighting from a cache of random images), and the whole training loop's images/s on
 * each available backend (`train()` itself: pipeline + steps, stopped after --steps steps), for
 * each preset. The loop's rate over the pipeline's says how much headroom the data side has.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getPreset, type Preset } from '../src/config.js';
import { probeTrainingBackends, useBackend, type TrainingBackend } from '../src/train/backends.js';
import { BatchPipeline, permutation } from '../src/train/batch-pipeline.js';
import type { DataCache, Split } from '../src/train/data-cache.js';
import { train } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const { values: args } = parseArgs({
  options: {
    presets: { type: 'string', default: 'mini,paper' },
    backends: { type: 'string' },
    steps: { type: 'string', default: '6' },
    workers: { type: 'string', default: '1' },
  },
});
const steps = Number(args.steps);
const workers = Number(args.workers);

function randomCache(preset: Preset, count: number): DataCache {
  const b = preset.network.baseSize;
  const rng = new Rng(1);
  const split = (n: number): Split => {
    const images = new Uint8Array(new SharedArrayBuffer(n * b * b * 3));
    for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
    return { count: n, images, labels: Uint16Array.from({ length: n }, (_, i) => i % 10) };
  };
  const mean = new Float32Array(new SharedArrayBuffer(b * b * 3 * 4)).fill(127.5);
  return {
    dir: 'random',
    mean,
    splits: { train: split(count), val: split(Math.min(64, count)) },
    meta: {
      format: 'alexnet-data-cache', version: 2, base: b, classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
      counts: {}, pca: { eigenvalues: [60, 5, 1], eigenvectors: [0.58, -0.7, 0.4, 0.58, 0, -0.8, 0.58, 0.7, 0.4] },
      source: 'random', skipped: [], createdAt: '',
    },
  };
}

async function pipelineRate(preset: Preset, data: DataCache, batch: number): Promise<number> {
  const n = data.splits.train!.count;
  const pipe = new BatchPipeline({ split: data.splits.train!, mean: data.mean, base: preset.network.baseSize, crop: preset.network.inputSize, pca: data.meta.pca, workers });
  let images = 0;
  const t0 = performance.now();
  for await (const b of pipe.batches(permutation(n, 1), batch, 'train', 1)) images += b.size;
  const rate = images / ((performance.now() - t0) / 1000);
  await pipe.close();
  return rate;
}

const rows: string[][] = [];
const available = (await probeTrainingBackends()).filter((b) => (args.backends ? args.backends.split(',').includes(b.name) : b.available && b.name !== 'cpu'));
for (const name of args.presets!.split(',')) {
  const preset = getPreset(name);
  const batch = name === 'paper' ? 32 : preset.train.batchSize;
  const data = randomCache(preset, batch * (steps + 2));
  const pipe = await pipelineRate(preset, data, batch);
  rows.push([name, `data pipeline alone (${workers} worker)`, String(batch), pipe.toFixed(1), '-']);
  for (const b of available) {
    const used = await useBackend(b.name as TrainingBackend);
    const out = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-bench-train-'));
    let rate = 0;
    // As `alexnet train` does: wasm and cpu shard each batch over the cores.
    const threads = used.name === 'wasm' || used.name === 'cpu' ? os.availableParallelism() : 1;
    await train(preset, data, out, { preset: preset.name, ...preset.train, batchSize: batch, epochs: 1, maxDrops: 3, seed: 1, lightingStd: 0.1, workers, threads, tenCropEachEpoch: false }, false, {
      maxSteps: steps,
      onStep: (s) => (rate = s.imagesPerSecond),
    });
    await fs.rm(out, { recursive: true, force: true });
    rows.push([name, `training loop, tfjs ${used.name}, ${threads} thread${threads > 1 ? 's' : ''}`, String(batch), rate.toFixed(2), `${(rate / pipe).toFixed(3)}x`]);
  }
}
const header = ['preset', 'what', 'batch', 'images/s', 'vs pipeline'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`${os.cpus().length} CPU cores; ${steps} steps per loop (the first includes warm-up)`);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
