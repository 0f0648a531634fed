/**
 * bench:search-quality: does fc7 Euclidean search find images of the same kind (paper §6.1)?
 *
 * The 60,000 Fashion-MNIST training images are the index, the 10,000 test images the queries.
 * For each query its 10 nearest training images by exact brute force (brute-force.ts), once with
 * the shipped model's fc7 vectors (as Embed makes them: fashion-fc7.ts) and once with the raw
 * 784 pixels as the vector; precision@10 is the share of those 10 whose class is the query's,
 * printed per class of the query and as the mean over queries, side by side.
 *
 *   npm run bench:search-quality [-- --queries 10000]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, openModel } from '../src/model/model-files.js';
import { FASHION_MNIST_LABELS } from '../src/train/fashion-mnist.js';
import { BruteForce, type Neighbours } from './brute-force.js';
import { fashionFc7, loadFashionMnist, PIXELS } from './fashion-fc7.js';
import { positiveInteger } from './options.js';

const { values } = parseArgs({ options: { queries: { type: 'string', default: '10000' }, k: { type: 'string', default: '10' } } });
const k = positiveInteger('bench:search-quality', 'k', values.k);
const log = (line: string) => console.log(line);

const model = await openModel(DEFAULT_MODEL);
const data = await loadFashionMnist();
const queries = Math.min(positiveInteger('bench:search-quality', 'queries', values.queries), data.test);
const fc7 = await fashionFc7(model, data, log);
const dim = model.metadata.embeddingDimension;
// Every `step`-th test image: the whole test set, or an even subsample of it.
const step = data.test / queries;
const picked = Array.from({ length: queries }, (_, i) => data.train + Math.floor(i * step));

/** Precision@k of each picked query, by the class of the query. */
async function precision(base: Float32Array, vectors: (i: number) => Float32Array, d: number, what: string): Promise<Float64Array> {
  const t0 = performance.now();
  const bf = await BruteForce.create(base, d);
  const q = new Float32Array(queries * d);
  picked.forEach((i, j) => q.set(vectors(i), j * d));
  const nn: Neighbours = await bf.search(q, k);
  await bf.close();
  const out = new Float64Array(queries);
  picked.forEach((i, j) => {
    let hits = 0;
    for (let t = 0; t < k; t++) if (data.labels[nn.ids[j * k + t]!] === data.labels[i]) hits++;
    out[j] = hits / k;
  });
  log(`${what}: ${queries} queries x ${data.train} images x ${d}-d by brute force in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

const fc7Base = fc7.subarray(0, data.train * dim);
const fc7P = await precision(fc7Base, (i) => fc7.subarray(i * dim, (i + 1) * dim), dim, `fc7 (${model.name}, ${model.fingerprint})`);
const pixels = Float32Array.from(data.images.subarray(0, (data.train + data.test) * PIXELS));
const pixP = await precision(pixels.subarray(0, data.train * PIXELS), (i) => pixels.subarray(i * PIXELS, (i + 1) * PIXELS), PIXELS, 'raw pixels');

const mean = (a: Float64Array, keep: (j: number) => boolean) => {
  let s = 0;
  let n = 0;
  a.forEach((v, j) => {
    if (keep(j)) {
      s += v;
      n++;
    }
  });
  return { mean: n > 0 ? s / n : NaN, n };
};
console.log(`\nprecision@${k} by the query's class (${queries} of the ${data.test} test queries; index: the ${data.train} training images; Euclidean)`);
console.log(`${'class'.padEnd(12)} ${'queries'.padStart(7)}  ${'fc7'.padStart(6)}  ${'pixels'.padStart(6)}  fc7/pixels`);
for (let c = 0; c < FASHION_MNIST_LABELS.length; c++) {
  const a = mean(fc7P, (j) => data.labels[picked[j]!] === c);
  const b = mean(pixP, (j) => data.labels[picked[j]!] === c);
  console.log(`${FASHION_MNIST_LABELS[c]!.padEnd(12)} ${String(a.n).padStart(7)}  ${a.mean.toFixed(3).padStart(6)}  ${b.mean.toFixed(3).padStart(6)}  ${(a.mean / b.mean).toFixed(3).padStart(9)}x`);
}
const a = mean(fc7P, () => true);
const b = mean(pixP, () => true);
console.log(`${'mean'.padEnd(12)} ${String(a.n).padStart(7)}  ${a.mean.toFixed(3).padStart(6)}  ${b.mean.toFixed(3).padStart(6)}  ${(a.mean / b.mean).toFixed(3).padStart(9)}x`);
