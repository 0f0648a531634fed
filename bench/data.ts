/**
 * npm run bench:data [-- --images 480 --photo 500x375 --preset paper --batch 128 --step-batch 16]
 *
 * In one run, on JPEG photos of --photo pixels (photo-like: smooth shapes and sensor noise):
 * - `alexnet data prepare` (a child process, as a user runs it) with 1 decoding worker and with
 *   one per core, raw store, then the JPEG store: images/s, the ratio, the cache's bytes per image,
 *   the peak RSS;
 * - the batch pipeline (random crops, flips, PCA lighting, in worker threads) reading the raw and
 *   the JPEG cache with 1 worker and with one per core: images/s per worker at --batch;
 * - one training step of the preset on this machine's best tfjs backend: images/s at --step-batch;
 * and how many cores of pipeline a GPU training at 4,000 images/s would need.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { getPreset } from '../src/config.js';
import { encodeRgb } from '../src/image/decode.js';
import { initParameters } from '../src/model/init.js';
import { splitBytes } from '../src/train/cache-format.js';
import { useBackend } from '../src/train/backends.js';
import { BatchPipeline, permutation } from '../src/train/batch-pipeline.js';
import { readDataCache, RecordReader } from '../src/train/data-cache.js';
import { defaultDecoders } from '../src/train/prepare-folder.js';
import { toTfjs } from '../src/train/network.js';
import { PaperSgd } from '../src/train/sgd.js';
import { trainStep } from '../src/train/step.js';
import { Rng } from '../src/util/rng.js';
import { positiveInteger, refuseOption } from './options.js';

const BENCH = 'bench:data';
const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '480' },
    photo: { type: 'string', default: '500x375' },
    preset: { type: 'string', default: 'paper' },
    batch: { type: 'string', default: '128' },
    'step-batch': { type: 'string', default: '16' },
  },
});
const count = positiveInteger(BENCH, 'images', args.images);
const batch = positiveInteger(BENCH, 'batch', args.batch);
const stepBatch = positiveInteger(BENCH, 'step-batch', args['step-batch']);
const photo = /^([1-9][0-9]*)x([1-9][0-9]*)$/.exec(args.photo!)?.slice(1).map(Number) ?? refuseOption(BENCH, 'photo', args.photo, 'WIDTHxHEIGHT, e.g. 500x375');
const [pw, ph] = photo as [number, number];
const preset = getPreset(args.preset!);
const cores = os.availableParallelism();
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const PEAK = `data:text/javascript,process.on('exit',()=>process.stderr.write('peak-rss-kb '+process.resourceUsage().maxRSS+'\\n'))`;

/** A photo-like picture: a few soft shapes over a gradient, plus noise. */
function photoPixels(rng: Rng): Uint8Array {
  const out = new Uint8Array(pw * ph * 3);
  const blobs = Array.from({ length: 6 }, () => ({ x: rng.uniform() * pw, y: rng.uniform() * ph, r: 30 + rng.uniform() * 120, c: [rng.int(256), rng.int(256), rng.int(256)] }));
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++)
      for (let c = 0; c < 3; c++) {
        let v = (x / pw) * 120 + (y / ph) * 60 + c * 20;
        for (const b of blobs) v += Math.max(0, 1 - Math.hypot(x - b.x, y - b.y) / b.r) * (b.c[c]! - v);
        out[(y * pw + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + rng.normal() * 6)));
      }
  return out;
}

async function makePhotos(dir: string): Promise<void> {
  const rng = new Rng(3);
  const distinct = 24;
  const files = await Promise.all(Array.from({ length: distinct }, async (_, k) => {
    const file = path.join(dir, '.sources', `p${k}.jpg`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, await encodeRgb(photoPixels(rng), pw, ph, 'jpeg', 90));
    return file;
  }));
  for (const [split, n] of [['train', count], ['val', Math.max(4, Math.round(count / 20))]] as const) {
    for (let c = 0; c < 4; c++) {
      const to = path.join(dir, split, `class${c}`);
      await fs.mkdir(to, { recursive: true });
      for (let i = c; i < n; i += 4) await fs.link(files[i % distinct]!, path.join(to, `img${i}.jpg`));
    }
  }
}

/** `alexnet data prepare` in a child process: images/s over the whole command and its peak RSS. */
function prepare(data: string, out: string, store: string, workers: number): Promise<{ rate: number; peakMiB: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--import', PEAK, CLI, 'data', 'prepare', data, '--preset', preset.name, '--store', store, '--workers', String(workers), '--out', out], { maxBuffer: 1 << 26 }, (e, _o, stderr) => {
      if (e) return reject(new Error(`prepare failed: ${stderr}`));
      const total = count + Math.max(4, Math.round(count / 20));
      resolve({ rate: total / ((performance.now() - t0) / 1000), peakMiB: Number(/peak-rss-kb (\d+)/.exec(stderr)?.[1]) / 1024 });
    }),
  );
}

async function pipelineRate(cacheDir: string, workers: number): Promise<number> {
  const cache = await readDataCache(cacheDir);
  const split = cache.splits.train!;
  const b = preset.network;
  const pipe = new BatchPipeline({ split, mean: cache.mean, baseSize: b.baseSize, inputSize: b.inputSize, pca: cache.meta.pca, workers });
  let images = 0;
  const order = permutation(split.count, 1);
  const size = Math.min(batch, Math.floor(split.count / 2));
  // The first batch pays for the workers' start: time from the second on.
  let t0 = 0;
  for await (const x of pipe.batches(order, size, 'train', 1)) {
    if (t0 === 0) t0 = performance.now();
    else images += x.size;
  }
  await pipe.close();
  return images / ((performance.now() - t0) / 1000);
}

async function stepRate(): Promise<{ rate: number; backend: string }> {
  const used = await useBackend('auto');
  const spec = preset.network;
  const params = toTfjs(initParameters(spec, 1000, new Rng(1)), true) as Map<string, tf.Variable>;
  const sgd = new PaperSgd({ learningRate: 1e-4, momentum: 0.9, weightDecay: 5e-4 });
  const x = tf.randomNormal([stepBatch, spec.inputSize, spec.inputSize, 3]) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: stepBatch }, (_, i) => i % 1000), 'int32');
  await trainStep(spec, params, sgd, x, labels, 1);
  const t0 = performance.now();
  await trainStep(spec, params, sgd, x, labels, 1);
  const rate = stepBatch / ((performance.now() - t0) / 1000);
  tf.dispose([x, labels, ...params.values()]);
  sgd.dispose();
  return { rate, backend: used.name };
}

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-bench-data-'));
try {
  await makePhotos(root);
  const data = root;
  console.log(`${cores} cores; ${count} training JPEGs of ${pw}x${ph} -> ${preset.name} (${preset.network.baseSize}x${preset.network.baseSize})`);
  const rows: string[][] = [];
  const raw1 = await prepare(data, path.join(root, 'raw-1'), 'raw', 1);
  const rawC = await prepare(data, path.join(root, 'raw-c'), 'raw', cores);
  const rawN = await prepare(data, path.join(root, 'raw-n'), 'raw', defaultDecoders());
  const jpegN = await prepare(data, path.join(root, 'jpeg-n'), 'jpeg', defaultDecoders());
  const perImage = async (dir: string) => {
    const c = await readDataCache(dir);
    return (await splitBytes(c.splits.train!)) / c.splits.train!.count;
  };
  const [rawBytes, jpegBytes] = [await perImage(path.join(root, 'raw-n')), await perImage(path.join(root, 'jpeg-n'))];
  rows.push(['prepare, raw, 1 worker', raw1.rate.toFixed(1), '1.00x', `${(rawBytes / 1024).toFixed(1)} KiB`, raw1.peakMiB.toFixed(0)]);
  rows.push([`prepare, raw, ${cores} workers`, rawC.rate.toFixed(1), `${(rawC.rate / raw1.rate).toFixed(2)}x`, `${(rawBytes / 1024).toFixed(1)} KiB`, rawC.peakMiB.toFixed(0)]);
  rows.push([`prepare, raw, ${defaultDecoders()} workers (the default)`, rawN.rate.toFixed(1), `${(rawN.rate / raw1.rate).toFixed(2)}x`, `${(rawBytes / 1024).toFixed(1)} KiB`, rawN.peakMiB.toFixed(0)]);
  rows.push([`prepare, jpeg q90, ${defaultDecoders()} workers`, jpegN.rate.toFixed(1), `${(jpegN.rate / raw1.rate).toFixed(2)}x`, `${(jpegBytes / 1024).toFixed(1)} KiB (${((100 * jpegBytes) / rawBytes).toFixed(1)} %)`, jpegN.peakMiB.toFixed(0)]);
  // How far the JPEG store's images are from the raw store's (the same photos), mean absolute error in levels of 255.
  const [rawCache, jpegCache] = [await readDataCache(path.join(root, 'raw-n')), await readDataCache(path.join(root, 'jpeg-n'))];
  const [rr, jr] = [new RecordReader(rawCache.splits.train!, preset.network.baseSize), new RecordReader(jpegCache.splits.train!, preset.network.baseSize)];
  let absSum = 0;
  let values = 0;
  for (let i = 0; i < Math.min(64, rr.count); i++) {
    const [a, b] = [await rr.read(i), await jr.read(i)];
    for (let p = 0; p < a.length; p++) absSum += Math.abs(a[p]! - b[p]!);
    values += a.length;
  }
  rr.close();
  jr.close();
  const pipes: Record<string, number> = {};
  for (const store of ['raw', 'jpeg'] as const) {
    for (const workers of [...new Set([1, cores])]) {
      const rate = await pipelineRate(path.join(root, `${store}-n`), workers);
      pipes[`${store}-${workers}`] = rate;
      rows.push([`pipeline, ${store}, ${workers} worker${workers > 1 ? 's' : ''}, batch ${batch}`, rate.toFixed(1), `${(rate / workers).toFixed(1)} per worker`, '-', '-']);
    }
  }
  const step = await stepRate();
  rows.push([`training step, ${preset.name}, tfjs ${step.backend}, batch ${stepBatch}`, step.rate.toFixed(2), '-', '-', '-']);
  const header = ['what', 'images/s', 'ratio', 'cache per image', 'peak RSS MiB'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(`jpeg q90 store against raw: mean absolute difference ${(absSum / values).toFixed(2)} levels of 255 over ${Math.min(64, rr.count)} images`);
  for (const store of ['raw', 'jpeg']) {
    const perWorker = pipes[`${store}-${cores}`]! / cores;
    console.log(`${store} store: ${perWorker.toFixed(0)} images/s per pipeline worker here; a GPU step at 4,000 images/s needs about ${Math.ceil(4000 / perWorker)} such cores`);
  }
} finally {
  await fs.rm(root, { recursive: true, force: true });
}
