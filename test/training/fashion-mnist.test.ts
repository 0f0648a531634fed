/**
 * `alexnet data fashion-mnist`: IDX files written here (smooth patterns, one per image, so each
 * cached image can be traced to its source) go through the converter; every cached image must be
 * its source upsampled, compared with a bilinear upsampling written naively in this file.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { prepareFashionMnist } from '../../src/train/fashion-mnist.js';
import { readDataCache, RecordReader } from '../../src/train/data-cache.js';
import { resizeGrey } from '../../src/image/decode.js';
import { tempDir } from '../temp-dir.js';

function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, Buffer.from(data)]));
}

/** Image k: a smooth blob whose center and brightness depend on k (no sharp edges, so bicubic ~ bilinear), on a background of k % 37 that tells all k used here apart. */
function pattern(k: number): Uint8Array {
  const img = new Uint8Array(784);
  const cx = 8 + (k % 5) * 3;
  const cy = 8 + ((k * 7) % 5) * 3;
  const peak = 120 + (k % 4) * 40;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) img[y * 28 + x] = (k % 37) + Math.round(peak * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 60));
  }
  return img;
}

/**
 * Bilinear upsampling written as the formula. Output pixel x samples the source at
 * (x + 0.5) * from / to - 0.5 (half-pixel centers, as OpenCV and PIL) plus `shift`; libvips
 * samples half an output pixel further left (measured with a ramp: x * from / to - 0.5).
 */
function bilinearAt(src: Uint8Array, from: number, to: number, shift: number): Float64Array {
  const out = new Float64Array(to * to);
  const at = (y: number, x: number) => src[Math.min(from - 1, Math.max(0, y)) * from + Math.min(from - 1, Math.max(0, x))]!;
  for (let y = 0; y < to; y++) {
    for (let x = 0; x < to; x++) {
      const sy = ((y + 0.5) * from) / to - 0.5 + shift;
      const sx = ((x + 0.5) * from) / to - 0.5 + shift;
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const fy = sy - y0;
      const fx = sx - x0;
      out[y * to + x] =
        (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
    }
  }
  return out;
}

const bilinear = (src: Uint8Array, from: number, to: number) => bilinearAt(src, from, to, (-0.5 * from) / to);

const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

test('resizeGrey returns one channel, close to a naive bilinear upsampling', async (t) => {
  const src = pattern(3);
  const out = await resizeGrey(src, 28, 40);
  t.is(out.length, 40 * 40);
  t.true(meanAbs(out, bilinear(src, 28, 40)) < 1.5, `mean |diff| ${meanAbs(out, bilinear(src, 28, 40))}`);
});

test('fashion-mnist conversion: each cached image is its source upsampled, grey in R=G=B, labels kept', async (t) => {
  const dir = await tempDir('fmnist');
  const nTrain = 20;
  const nTest = 6;
  const make = (n: number, offset: number) => {
    const images = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      images.set(pattern(offset + i), i * 784);
      labels[i] = (offset + i) % 10;
    }
    return { images, labels };
  };
  const tr = make(nTrain, 0);
  const te = make(nTest, 100);
  await fs.writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), idx([nTrain, 28, 28], tr.images));
  await fs.writeFile(path.join(dir, 'train-labels-idx1-ubyte.gz'), idx([nTrain], tr.labels));
  await fs.writeFile(path.join(dir, 't10k-images-idx3-ubyte.gz'), idx([nTest, 28, 28], te.images));
  await fs.writeFile(path.join(dir, 't10k-labels-idx1-ubyte.gz'), idx([nTest], te.labels));
  // Five training images cannot hold ten classes; one image leaves none to validate on: refused in the options' terms.
  await t.throwsAsync(prepareFashionMnist({ source: dir, out: path.join(dir, 'few'), baseSize: 40, valCount: 15 }), { message: /--limit 20 with --val 15 leaves no training image of .*: lower --val or raise --limit/ });
  await t.throwsAsync(prepareFashionMnist({ source: dir, out: path.join(dir, 'one'), baseSize: 40, limit: 1 }), { message: /--limit 1 with --val 0 leaves no validation image/ });
  await prepareFashionMnist({ source: dir, out: path.join(dir, 'cache'), baseSize: 40, valCount: 4 });
  const cache = await readDataCache(path.join(dir, 'cache'));
  t.deepEqual(cache.meta.counts, { train: 16, val: 4, test: 6 });

  const sources = [...Array.from({ length: nTrain }, (_, i) => i), ...Array.from({ length: nTest }, (_, i) => 100 + i)];
  const oracles = new Map(sources.map((k) => [k, bilinear(pattern(k), 28, 40)]));
  const seen = new Set<number>();
  for (const name of ['train', 'val', 'test'] as const) {
    const split = cache.splits[name]!;
    const reader = new RecordReader(split, 40);
    for (let i = 0; i < split.count; i++) {
      const rgb = await reader.read(i);
      const grey = Uint8Array.from({ length: 1600 }, (_, p) => rgb[3 * p]!);
      let equal = true;
      for (let p = 0; p < 1600; p++) equal &&= rgb[3 * p + 1] === grey[p] && rgb[3 * p + 2] === grey[p];
      t.true(equal, `${name} ${i}: R, G and B differ`);
      // The source this image came from: the nearest oracle; it must be near, and carry that source's label.
      let best = -1;
      let bestDiff = Infinity;
      for (const [k, o] of oracles) {
        const d = meanAbs(grey, o);
        if (d < bestDiff) [best, bestDiff] = [k, d];
      }
      t.true(bestDiff < 1.5, `${name} ${i}: mean |diff| to its source ${bestDiff}`);
      t.is(split.labels[i], best % 10, `${name} ${i}: label`);
      t.is(name === 'test', best >= 100, `${name} ${i} came from the wrong file`);
      seen.add(best);
    }
  }
  t.is(seen.size, nTrain + nTest, 'every source image appears exactly once');
});
