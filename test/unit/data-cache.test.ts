/**
 * The data cache written as a stream and read back record by record: raw records come back
 * bit for bit, JPEG records within a stated error of the pixels given; the mean image and the RGB
 * covariance equal sums written naively here; a run stopped after a commit (uncommitted bytes
 * written after it, as a kill would leave them) resumes to the same bytes as an uninterrupted
 * one; a cache of the previous format is refused with a message saying what to do.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CacheWriter, type CacheSpec } from '../../src/train/cache-writer.js';
import { cacheExists, readDataCache, RecordReader } from '../../src/train/data-cache.js';
import { encodeRgb } from '../../src/image/decode.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

const B = 12;
const PX = B * B * 3;

/** Smooth images (JPEG-friendly, as photos are), seeded by k. */
function image(k: number): Uint8Array {
  const out = new Uint8Array(PX);
  for (let y = 0; y < B; y++)
    for (let x = 0; x < B; x++)
      for (let c = 0; c < 3; c++) out[(y * B + x) * 3 + c] = Math.round(127 + 100 * Math.sin((x + k) / 4 + c) * Math.cos((y - k) / 5));
  return out;
}

const spec = (store: 'raw' | 'jpeg', fingerprint = 'f1'): CacheSpec => ({ baseSize: B, store, quality: 90, classes: ['a', 'b', 'c'], source: 'test', splits: ['train', 'val'], fingerprint });

/** Write items [from, to) of a fixed list: 30 train images, then 10 val. */
async function writeItems(w: CacheWriter, from: number, to: number, store: 'raw' | 'jpeg'): Promise<void> {
  for (let i = from; i < to; i++) {
    const px = image(i);
    await w.append(i < 30 ? 'train' : 'val', i % 3, px, store === 'jpeg' ? await encodeRgb(px, B, B, 'jpeg', 90) : undefined);
  }
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of (await fs.readdir(dir)).sort()) if (f !== 'meta.json') out.set(f, await fs.readFile(path.join(dir, f)));
  const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8'));
  delete meta.createdAt;
  out.set('meta.json', Buffer.from(JSON.stringify(meta)));
  return out;
}

for (const store of ['raw', 'jpeg'] as const) {
  test(`${store} store: records read back (${store === 'raw' ? 'bit for bit' : 'within JPEG error'}), labels, counts, mean and covariance of the training images`, async (t) => {
    const out = path.join(await tempDir('cache'), 'c');
    const w = await CacheWriter.open(out, spec(store));
    await writeItems(w, 0, 40, store);
    await w.finish();
    t.true(await cacheExists(out));
    const cache = await readDataCache(out);
    t.deepEqual(cache.meta.counts, { train: 30, val: 10 });
    t.is(cache.meta.store, store);
    const reader = new RecordReader(cache.splits.train!, B);
    let worst = 0;
    let sumAbs = 0;
    for (let i = 0; i < 30; i++) {
      const got = await reader.read(i);
      const want = image(i);
      for (let p = 0; p < PX; p++) {
        const d = Math.abs(got[p]! - want[p]!);
        worst = Math.max(worst, d);
        sumAbs += d;
      }
      t.is(cache.splits.train!.labels[i], i % 3);
    }
    reader.close();
    t.log(`${store}: largest pixel error ${worst}, mean ${(sumAbs / (30 * PX)).toFixed(3)}`);
    if (store === 'raw') t.is(worst, 0);
    else t.true(sumAbs / (30 * PX) < 4 && worst < 64, `JPEG error mean ${sumAbs / (30 * PX)}, max ${worst}`);
    // The statistics are of the pixels given (not of their JPEG copies), training images only.
    const mean = new Float64Array(PX);
    for (let i = 0; i < 30; i++) image(i).forEach((v, p) => (mean[p] += v / 30));
    let meanErr = 0;
    for (let p = 0; p < PX; p++) meanErr = Math.max(meanErr, Math.abs(cache.mean[p]! - mean[p]!));
    t.true(meanErr < 1e-3, `mean image off by ${meanErr}`);
    const m = [0, 0, 0];
    const n = 30 * B * B;
    for (let i = 0; i < 30; i++) image(i).forEach((v, p) => (m[p % 3] += v / n));
    const cov = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 30; i++) {
      const im = image(i);
      for (let p = 0; p < PX; p += 3) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) cov[a * 3 + b] += ((im[p + a]! - m[a]!) * (im[p + b]! - m[b]!)) / n;
    }
    // The PCA's eigen-decomposition rebuilds the covariance (scaled to 0..1 and back, see rgbPca).
    const { eigenvalues: l, eigenvectors: v } = cache.meta.pca;
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) {
        let c = 0;
        for (let k = 0; k < 3; k++) c += v[a * 3 + k]! * l[k]! * v[b * 3 + k]!;
        t.true(Math.abs(c * 255 - cov[a * 3 + b]!) < 1e-6 * Math.max(1, Math.abs(cov[a * 3 + b]!)), `covariance [${a},${b}]: ${c * 255} vs ${cov[a * 3 + b]}`);
      }
  });

  test(`${store} store: stopped after a commit with more written behind it (a kill), resumed: the same bytes as an uninterrupted run`, async (t) => {
    const root = await tempDir('cache-resume');
    const whole = await CacheWriter.open(path.join(root, 'whole'), spec(store));
    await writeItems(whole, 0, 40, store);
    await whole.finish();

    const out = path.join(root, 'resumed');
    const first = await CacheWriter.open(out, spec(store));
    await writeItems(first, 0, 17, store);
    await first.commit(17);
    await writeItems(first, 17, 25, store); // written, never committed: a kill here loses them
    await first.close(true);
    const again = await CacheWriter.open(out, spec(store));
    t.is(again.resumeFrom, 17);
    await writeItems(again, 17, 40, store);
    await again.finish();
    t.deepEqual(await filesOf(out), await filesOf(path.join(root, 'whole')));
    await t.throwsAsync(fs.stat(`${out}.partial`), { code: 'ENOENT' }, 'the partial directory is gone once the cache is in place');

    // Another preparation (another fingerprint) does not resume what this one left.
    const other = await CacheWriter.open(path.join(root, 'other'), spec(store));
    await writeItems(other, 0, 5, store);
    await other.commit(5);
    await other.close(true);
    t.is((await CacheWriter.open(path.join(root, 'other'), spec(store, 'f2'))).resumeFrom, 0);
  });
}

test('a cache of the previous format is refused with what to do; so is a cache whose records were cut short', async (t) => {
  const out = path.join(await tempDir('cache-old'), 'c');
  const w = await CacheWriter.open(out, spec('raw'));
  await writeItems(w, 0, 40, 'raw');
  await w.finish();
  const metaFile = path.join(out, 'meta.json');
  const meta = JSON.parse(await fs.readFile(metaFile, 'utf8'));
  await fs.truncate(path.join(out, 'train.images'), 29 * PX);
  await t.throwsAsync(readDataCache(out), { name: 'ConfigError', message: /has \d+ bytes, expected \d+: prepare the data again/ });
  await fs.writeFile(metaFile, JSON.stringify({ ...meta, version: 3 }));
  await t.throwsAsync(cacheExists(out), { name: 'ConfigError', message: /another version of alexnet .*prepare it again with 'alexnet data prepare'/ });
  await t.throwsAsync(readDataCache(out), { name: 'ConfigError', message: /cache format 3, now 4/ });
});

test('reading by index: out of range is a RangeError, and a random order reads what was written there', async (t) => {
  const out = path.join(await tempDir('cache-order'), 'c');
  const w = await CacheWriter.open(out, spec('raw'));
  await writeItems(w, 0, 40, 'raw');
  await w.finish();
  const cache = await readDataCache(out);
  const reader = new RecordReader(cache.splits.val!, B);
  const rng = new Rng(7);
  for (let k = 0; k < 20; k++) {
    const i = rng.int(10);
    t.deepEqual(await reader.read(i), image(30 + i));
  }
  await t.throwsAsync(reader.read(10), { instanceOf: RangeError });
  reader.close();
});
