/**
 * Batches read from a prepared cache on disk, raw and JPEG stores, through the real batch workers:
 * bit for bit the batches of an in-memory split holding the same pixels (the split the
 * augmentation test checks against the paper), for training crops, center crops and ten crops.
 * For the JPEG store "the same pixels" are its records decoded here by sharp on its own; how far
 * they are from the images prepared is measured and bounded (under 12 levels of 255 on average for
 * these high-contrast stripes at quality 85).
 */
import test from 'ava';
import path from 'node:path';
import sharp from 'sharp';
import { promises as fs } from 'node:fs';
import { BatchPipeline } from '../../src/train/batch-pipeline.js';
import { readDataCache } from '../../src/train/data-cache.js';
import { prepareFolder } from '../../src/train/prepare-folder.js';
import { decodeToSquare } from '../../src/image/decode.js';
import { manyImages } from '../data-fixtures.js';
import { tempDir } from '../temp-dir.js';

const BASE = 40;
const CROP = 35;
const PX = BASE * BASE * 3;

async function batchesOf(pipeline: BatchPipeline, count: number, mode: 'train' | 'center' | 'ten'): Promise<Float32Array[]> {
  const order = Int32Array.from({ length: count }, (_, i) => (i * 7) % count);
  const out: Float32Array[] = [];
  for await (const b of pipeline.batches(order, 16, mode, 3)) out.push(b.x);
  return out;
}

test('raw and jpeg stores: training, center and ten-crop batches equal those of an in-memory split of the same pixels', async (t) => {
  const root = await tempDir('stores');
  const data = path.join(root, 'data');
  await manyImages(data, 2, 24, 8, 56);
  for (const store of ['raw', 'jpeg'] as const) {
    const out = path.join(root, store);
    await prepareFolder({ data, out, baseSize: BASE, store, quality: 85 });
    const cache = await readDataCache(out);
    const split = cache.splits.train!;
    // The pixels, read without the project's reader: the raw file as it is, or each JPEG record decoded by sharp here.
    const pixels = new Uint8Array(new SharedArrayBuffer(split.count * PX));
    if (store === 'raw') {
      pixels.set(await fs.readFile(path.join(out, 'train.images')));
    } else {
      const blobs = await fs.readFile(path.join(out, 'train.jpeg'));
      const offsets = new Float64Array((await fs.readFile(path.join(out, 'train.offsets'))).buffer.slice(0));
      t.is(offsets.length, split.count + 1);
      for (let i = 0; i < split.count; i++) {
        const { data: rgb, info } = await sharp(blobs.subarray(offsets[i]!, offsets[i + 1]!)).raw().toBuffer({ resolveWithObject: true });
        t.deepEqual([info.width, info.height, info.channels], [BASE, BASE, 3]);
        pixels.set(rgb, i * PX);
      }
    }
    // How far the stored images are from the prepared ones (decoded again from the source files, in the cache's order).
    const listing = (await Promise.all((await fs.readdir(path.join(data, 'train'))).sort().map(async (c) => (await fs.readdir(path.join(data, 'train', c))).sort().map((f) => path.join(data, 'train', c, f))))).flat();
    let sumAbs = 0;
    for (const [i, file] of listing.entries()) {
      const want = (await decodeToSquare(await fs.readFile(file), { size: BASE })).data;
      for (let p = 0; p < PX; p++) sumAbs += Math.abs(pixels[i * PX + p]! - want[p]!);
    }
    const meanAbs = sumAbs / (listing.length * PX);
    t.log(`${store}: mean absolute difference from the prepared pixels ${meanAbs.toFixed(3)} levels of 255`);
    if (store === 'raw') t.is(meanAbs, 0);
    else t.true(meanAbs > 0 && meanAbs < 12, `JPEG q85 error ${meanAbs}`); // these test pictures are all edges; photos lose less (bench:data)

    const common = { mean: cache.mean, baseSize: BASE, inputSize: CROP, pca: cache.meta.pca, workers: 2 };
    const fromDisk = new BatchPipeline({ ...common, split });
    const inMemory = new BatchPipeline({ ...common, split: { count: split.count, images: pixels, labels: split.labels } });
    try {
      for (const mode of ['train', 'center', 'ten'] as const) {
        const a = await batchesOf(fromDisk, split.count, mode);
        const b = await batchesOf(inMemory, split.count, mode);
        t.is(a.length, b.length);
        t.true(a.every((x, k) => Buffer.compare(Buffer.from(x.buffer), Buffer.from(b[k]!.buffer)) === 0), `${store} ${mode}: batches differ`);
      }
    } finally {
      await fromDisk.close();
      await inMemory.close();
    }
  }
});
