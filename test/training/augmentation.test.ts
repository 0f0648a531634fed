/**
 * The training augmentation as the trainer gets it (BatchPipeline, real worker threads), against
 * the paper's description written out here (§4.1, §4.2): each training crop is one crop x crop
 * window of its base image, at a uniformly drawn place, mirrored half of the time, minus the mean
 * image at the same source pixels, plus one RGB shift per image, P (a * l) with a ~ N(0, 0.1).
 * Each output is matched against every window and mirror the test cuts itself; the shift that is
 * left must be the same at every pixel, and P^T shift / l gives back the image's a.
 */
import test from 'ava';
import { BatchPipeline } from '../../src/train/batch-pipeline.js';
import type { RgbPca } from '../../src/image/pca.js';
import { Rng } from '../../src/util/rng.js';

const BASE = 12;
const CROP = 8;
const PLACES = BASE - CROP + 1;
const IMAGES = 64;
const VISITS = 40; // each image drawn this many times: 2,560 crops

test('train crops: uniform place, mirrored half the time, mean image subtracted, one lighting shift per image with a ~ N(0, 0.1)', async (t) => {
  const rng = new Rng(11);
  const px = BASE * BASE * 3;
  const images = new Uint8Array(new SharedArrayBuffer(IMAGES * px));
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = new Uint16Array(new SharedArrayBuffer(IMAGES * 2));
  const mean = Float32Array.from({ length: px }, () => 100 + 40 * rng.uniform());
  // Eigenvectors: a rotation (columns orthonormal), eigenvalues in pixel levels.
  const [c1, s1, c2, s2] = [Math.cos(0.7), Math.sin(0.7), Math.cos(-0.4), Math.sin(-0.4)];
  // R = Rz(0.7) * Rx(-0.4), written out; columns are the eigenvectors.
  const eigenvectors = [c1, -s1 * c2, s1 * s2, s1, c1 * c2, -c1 * s2, 0, s2, c2];
  const pca: RgbPca = { eigenvalues: [30, 6, 2], eigenvectors };

  const order = Int32Array.from({ length: IMAGES * VISITS }, (_, k) => k % IMAGES);
  const pipeline = new BatchPipeline({ split: { count: IMAGES, images, labels }, mean, baseSize: BASE, inputSize: CROP, pca, workers: 2 });
  const placeCounts = new Array<number>(PLACES * PLACES).fill(0);
  let flips = 0;
  let crops = 0;
  const alphas: number[][] = [[], [], []];
  try {
    for await (const batch of pipeline.batches(order, 128, 'train', 5)) {
      for (let j = 0; j < batch.size; j++) {
        const index = order[batch.index * 128 + j]!;
        const image = images.subarray(index * px, (index + 1) * px);
        const out = batch.x.subarray(j * CROP * CROP * 3, (j + 1) * CROP * CROP * 3);
        const matches: { x: number; y: number; flip: boolean; shift: number[] }[] = [];
        for (let y = 0; y < PLACES; y++)
          for (let x = 0; x < PLACES; x++)
            for (const flip of [false, true]) {
              // out - (window - mean) at every pixel, per channel: constant if this is the window.
              const lo = [Infinity, Infinity, Infinity];
              const hi = [-Infinity, -Infinity, -Infinity];
              for (let r = 0; r < CROP; r++)
                for (let c = 0; c < CROP; c++) {
                  const src = ((y + r) * BASE + (flip ? x + CROP - 1 - c : x + c)) * 3;
                  for (let ch = 0; ch < 3; ch++) {
                    const d = out[(r * CROP + c) * 3 + ch]! - (image[src + ch]! - mean[src + ch]!);
                    lo[ch] = Math.min(lo[ch]!, d);
                    hi[ch] = Math.max(hi[ch]!, d);
                  }
                }
              if ([0, 1, 2].every((ch) => hi[ch]! - lo[ch]! < 1e-3)) matches.push({ x, y, flip, shift: [0, 1, 2].map((ch) => (hi[ch]! + lo[ch]!) / 2) });
            }
        t.is(matches.length, 1, `crop ${crops}: ${matches.length} windows fit it`);
        const m = matches[0]!;
        placeCounts[m.y * PLACES + m.x]!++;
        if (m.flip) flips++;
        // a_k = (P^T shift)_k / l_k
        for (let k = 0; k < 3; k++) {
          const w = eigenvectors[k]! * m.shift[0]! + eigenvectors[3 + k]! * m.shift[1]! + eigenvectors[6 + k]! * m.shift[2]!;
          alphas[k]!.push(w / pca.eigenvalues[k]!);
        }
        crops++;
      }
    }
  } finally {
    await pipeline.close();
  }
  t.is(crops, IMAGES * VISITS);

  // Uniform place: chi-square over the 25 places (24 degrees of freedom; 60 is p < 1e-4).
  const expected = crops / placeCounts.length;
  const chi2 = placeCounts.reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
  t.true(chi2 < 60, `chi-square ${chi2.toFixed(1)} over places ${placeCounts.join(',')}`);
  // Mirrored half of the time: within 4 standard deviations of n/2.
  t.true(Math.abs(flips - crops / 2) < 4 * Math.sqrt(crops / 4), `${flips} of ${crops} mirrored`);
  // a ~ N(0, 0.1), independent components: mean, deviation and correlations within 4 standard errors.
  const stats = alphas.map((a) => {
    const mu = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mu) ** 2, 0) / (a.length - 1));
    return { mu, sd };
  });
  for (const [k, { mu, sd }] of stats.entries()) {
    t.true(Math.abs(mu) < (4 * 0.1) / Math.sqrt(crops), `a${k + 1} mean ${mu}`);
    t.true(Math.abs(sd - 0.1) < (4 * 0.1) / Math.sqrt(2 * crops), `a${k + 1} deviation ${sd}`);
  }
  for (let i = 0; i < 3; i++)
    for (let j = i + 1; j < 3; j++) {
      const cov = alphas[i]!.reduce((s, v, n) => s + (v - stats[i]!.mu) * (alphas[j]![n]! - stats[j]!.mu), 0) / (crops - 1);
      const corr = cov / (stats[i]!.sd * stats[j]!.sd);
      t.true(Math.abs(corr) < 4 / Math.sqrt(crops), `corr(a${i + 1}, a${j + 1}) = ${corr}`);
    }
});
