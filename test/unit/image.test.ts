/** The shared image module: crops, PCA lighting and decoding, against direct computations. */
import test from 'ava';
import sharp from 'sharp';
import zlib from 'node:zlib';
import { cutCrop, tenCropSpecs, randomCropSpec } from '../../src/image/crops.js';
import { decodeToSquare, sniffFormat } from '../../src/image/decode.js';
import { dropStrayHeaderBytes } from '../../src/image/jpeg-segments.js';
import { ImageStatistics, lightingShift, rgbPca, symmetricEigen3 } from '../../src/image/pca.js';
import { Rng } from '../../src/util/rng.js';

test('ten crops (§5): four corners, center, then their mirrors', (t) => {
  const specs = tenCropSpecs(256, 227);
  t.deepEqual(specs.slice(0, 5).map((s) => [s.x, s.y]), [[0, 0], [29, 0], [0, 29], [29, 29], [14, 14]]);
  t.deepEqual(specs.slice(5).map((s) => [s.x, s.y, s.flip]), specs.slice(0, 5).map((s) => [s.x, s.y, true]));
});

test('cutCrop equals slicing the image and reversing its columns, minus the mean', (t) => {
  const base = 7;
  const crop = 4;
  const rng = new Rng(3);
  const image = Uint8Array.from({ length: base * base * 3 }, () => rng.int(256));
  const meanImage = Float32Array.from({ length: base * base * 3 }, () => rng.uniform() * 100);
  for (const spec of [{ x: 1, y: 2, flip: false }, { x: 3, y: 0, flip: true }]) {
    const out = new Float32Array(crop * crop * 3);
    cutCrop(image, base, crop, spec, { kind: 'image', data: meanImage }, out, 0, [1, 2, 3]);
    for (let r = 0; r < crop; r++)
      for (let c = 0; c < crop; c++)
        for (let ch = 0; ch < 3; ch++) {
          const col = spec.flip ? spec.x + (crop - 1 - c) : spec.x + c;
          const src = ((spec.y + r) * base + col) * 3 + ch;
          const want = image[src]! - meanImage[src]! + [1, 2, 3][ch]!;
          t.true(Math.abs(out[(r * crop + c) * 3 + ch]! - want) < 1e-4);
        }
  }
  const rs = randomCropSpec(base, crop, rng);
  t.true(rs.x >= 0 && rs.x <= base - crop && rs.y >= 0 && rs.y <= base - crop);
});

test('symmetricEigen3: A p = l p, orthonormal, largest first', (t) => {
  const rng = new Rng(8);
  for (let trial = 0; trial < 20; trial++) {
    const m = Array.from({ length: 9 }, () => rng.normal());
    // A = M M^T is symmetric positive semi-definite, like a covariance.
    const a = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => m[i * 3]! * m[j * 3]! + m[i * 3 + 1]! * m[j * 3 + 1]! + m[i * 3 + 2]! * m[j * 3 + 2]!));
    const { eigenvalues: l, eigenvectors: p } = symmetricEigen3(a);
    t.true(l[0] >= l[1] && l[1] >= l[2]);
    for (let k = 0; k < 3; k++) {
      const v = [p[k]!, p[3 + k]!, p[6 + k]!];
      for (let i = 0; i < 3; i++) {
        const av = a[i * 3]! * v[0]! + a[i * 3 + 1]! * v[1]! + a[i * 3 + 2]! * v[2]!;
        t.true(Math.abs(av - l[k]! * v[i]!) < 1e-9 * Math.max(1, l[0]), `trial ${trial}, vector ${k}`);
      }
      t.true(Math.abs(v[0]! ** 2 + v[1]! ** 2 + v[2]! ** 2 - 1) < 1e-9);
    }
  }
});

test('ImageStatistics: mean image and RGB covariance over pixels; lighting adds P (a * l)', (t) => {
  const stats = new ImageStatistics(2);
  const imgs = [Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]), Uint8Array.from([0, 0, 0, 255, 255, 255, 1, 2, 3, 4, 5, 6])];
  for (const im of imgs) stats.add(im);
  t.deepEqual(Array.from(stats.meanImage()), Array.from(imgs[0]!, (v, i) => (v + imgs[1]![i]!) / 2));
  // Covariance written out directly over the 8 pixels.
  const px: number[][] = [];
  for (const im of imgs) for (let i = 0; i < im.length; i += 3) px.push([im[i]!, im[i + 1]!, im[i + 2]!]);
  const mu = [0, 1, 2].map((c) => px.reduce((s, p) => s + p[c]!, 0) / px.length);
  const cov = stats.covariance();
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      const want = px.reduce((s, p) => s + (p[i]! - mu[i]!) * (p[j]! - mu[j]!), 0) / px.length;
      t.true(Math.abs(cov[i * 3 + j]! - want) < 1e-6);
    }
  const pca = { eigenvalues: [50, 5, 1] as [number, number, number], eigenvectors: [0.6, 0, 0.8, 0, 1, 0, -0.8, 0, 0.6] };
  const a = new Rng(4);
  const alphas = [a.normal() * 0.1, a.normal() * 0.1, a.normal() * 0.1];
  const shift = lightingShift(pca, new Rng(4));
  const want = [0.6 * alphas[0]! * 50 + 0.8 * alphas[2]! * 1, alphas[1]! * 5, -0.8 * alphas[0]! * 50 + 0.6 * alphas[2]! * 1];
  for (let i = 0; i < 3; i++) t.true(Math.abs(shift[i]! - want[i]!) < 1e-12);
});

async function png(width: number, height: number, channels: 3 | 4, fill: (x: number, y: number) => number[]): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(fill(x, y), (y * width + x) * channels);
  return sharp(raw, { raw: { width, height, channels } }).png().toBuffer();
}

test('decode: shorter side to the base size, center square, 3 uint8 channels', async (t) => {
  // 60x30: red left third, green middle, blue right third. The center 30x30 square is green.
  const bytes = await png(60, 30, 3, (x) => (x < 20 ? [255, 0, 0] : x < 40 ? [0, 255, 0] : [0, 0, 255]));
  const img = await decodeToSquare(bytes, { size: 10 });
  t.is(img.data.length, 10 * 10 * 3);
  const mid = (5 * 10 + 5) * 3;
  t.deepEqual(Array.from(img.data.subarray(mid, mid + 3)), [0, 255, 0]);
});

test('decode: EXIF orientation applied, alpha removed, grey made RGB', async (t) => {
  // Top half white, bottom half black; orientation 6 (rotate 90 cw to display): left half black.
  const raw = await png(20, 20, 3, (_x, y) => (y < 10 ? [255, 255, 255] : [0, 0, 0]));
  const jpeg = await sharp(raw).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const img = await decodeToSquare(jpeg, { size: 20 });
  const at = (x: number, y: number) => img.data[(y * 20 + x) * 3]!;
  t.true(at(3, 10) < 40 && at(16, 10) > 215, `left ${at(3, 10)}, right ${at(16, 10)}`);
  const rgba = await png(8, 8, 4, () => [10, 20, 30, 128]);
  t.is((await decodeToSquare(rgba, { size: 8 })).data.length, 8 * 8 * 3);
  const grey = await sharp(await png(8, 8, 3, () => [90, 90, 90])).greyscale().png().toBuffer();
  const g = await decodeToSquare(grey, { size: 8 });
  t.deepEqual(Array.from(g.data.subarray(0, 3)), [90, 90, 90]);
});

test('decode: a 16-bit PNG with an ICC profile gives the sRGB pixels it was made from, as an 8-bit one does', async (t) => {
  // A smooth sRGB picture, saved as photo editors save 16-bit PNGs: with a profile (sRGB, or
  // Display P3, into whose numbers sharp converts the pixels). 48x40 to 40: no resampling, the
  // centre cut alone, so the oracle is the picture's own centre 40x40 pixels.
  const [w, h] = [48, 40];
  const rgb = await png(w, h, 3, (x, y) => [40 + x * 4, 30 + y * 5, 200 - x * 2 - y]);
  const oracle = await sharp(rgb).extract({ left: (w - h) / 2, top: 0, width: h, height: h }).raw().toBuffer();
  for (const [name, file] of [
    ['16-bit, sRGB profile', await sharp(rgb).toColourspace('rgb16').withIccProfile('srgb').png().toBuffer()],
    ['16-bit, Display P3 profile', await sharp(rgb).toColourspace('rgb16').withIccProfile('p3').png().toBuffer()],
    ['8-bit, Display P3 profile', await sharp(rgb).withIccProfile('p3').png().toBuffer()],
  ] as const) {
    const d = (await decodeToSquare(file, { size: h })).data;
    const diffs = d.map((v, i) => Math.abs(v - oracle[i]!));
    const worst = diffs.reduce((m, v) => Math.max(m, v), 0);
    const mean = diffs.reduce((m, v) => m + v, 0) / diffs.length;
    t.true(worst <= 3 && mean < 1, `${name}: worst ${worst} levels, mean ${mean.toFixed(2)} from the sRGB pixels`);
  }
});

test('decode: empty, random, truncated, SVG/GIF/TIFF and pixel bombs refused with a reason', async (t) => {
  await t.throwsAsync(decodeToSquare(new Uint8Array(0), { size: 8 }), { name: 'InvalidImageError', message: /empty/ });
  const rng = new Rng(1);
  await t.throwsAsync(decodeToSquare(Uint8Array.from({ length: 500 }, () => rng.int(256)), { size: 8 }), { name: 'InvalidImageError', message: /unsupported image format/ });
  const jpeg = await sharp(await png(64, 64, 3, (x, y) => [x * 4, y * 4, 0])).jpeg().toBuffer();
  await t.throwsAsync(decodeToSquare(jpeg.subarray(0, jpeg.length / 2), { size: 8 }), { name: 'InvalidImageError' });
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  const gif = await sharp(await png(8, 8, 3, () => [1, 2, 3])).gif().toBuffer();
  const tiff = await sharp(await png(8, 8, 3, () => [1, 2, 3])).tiff().toBuffer();
  for (const bytes of [svg, gif, tiff]) {
    await t.throwsAsync(decodeToSquare(bytes, { size: 8 }), { name: 'InvalidImageError', message: /only jpeg, png, webp/ });
  }
  t.is(sniffFormat(gif), null);
  // A 30000x30000 PNG header (a pixel bomb): refused from the header, fast, without decoding.
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(30000, 0);
  ihdr.writeUInt32BE(30000, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const bomb = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(100))), chunk('IEND', Buffer.alloc(0))]);
  const start = performance.now();
  await t.throwsAsync(decodeToSquare(bomb, { size: 8 }), { message: /30000x30000 pixels, over the limit/ });
  t.log(`30000x30000 header refused in ${(performance.now() - start).toFixed(1)} ms`);
});

test("rgbPca: ImageNet's 0..1 eigenvalues [0.2175, 0.0188, 0.0045] become [55.46, 4.794, 1.148] (SPEC.md §4)", (t) => {
  // A covariance of 0..255 pixels whose 0..1-scaled eigenvalues are ImageNet's, on rotated axes.
  const l = [0.2175, 0.0188, 0.0045].map((v) => v * 255 * 255);
  const p = [0.6, 0, 0.8, 0, 1, 0, -0.8, 0, 0.6];
  const cov = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => l.reduce((s, lk, k) => s + p[i * 3 + k]! * lk * p[j * 3 + k]!, 0)));
  const { eigenvalues } = rgbPca(cov);
  t.deepEqual(eigenvalues.map((v) => Number(v.toFixed(3))), [55.463, 4.794, 1.148]);
});

test('decode: stray bytes between JPEG header segments are skipped as libjpeg does; a damaged scan is still refused', async (t) => {
  const clean = await sharp(await png(40, 30, 3, (x, y) => [x * 6, y * 8, (x * y) % 256])).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const want = (await decodeToSquare(clean, { size: 16 })).data;
  const insertBefore = (bytes: Buffer, marker: number, stray: number[]) => {
    const at = bytes.indexOf(Buffer.from([0xff, marker]));
    t.true(at > 0, `marker ${marker.toString(16)} present`);
    return Buffer.concat([bytes.subarray(0, at), Buffer.from(stray), bytes.subarray(at)]);
  };
  for (const marker of [0xdb, 0xc0, 0xc4, 0xda]) {
    const stray = insertBefore(clean, marker, [1, 2, 3, 0xff, 0x00, 4]);
    // What the fix is for: the decoder with failOn 'warning' refuses this file as it is.
    await t.throwsAsync(sharp(stray, { failOn: 'warning' }).raw().toBuffer());
    t.deepEqual((await decodeToSquare(stray, { size: 16 })).data, want, `stray bytes before marker ${marker.toString(16)}`);
  }
  // Entropy-coded data overwritten inside the scan: libjpeg warns and pads; still refused.
  const noisy = await sharp(await png(64, 64, 3, (x, y) => [(x * 37 + y * 11) % 256, (x * y) % 256, (x ^ y) * 4])).jpeg().toBuffer();
  const damaged = Buffer.from(noisy);
  const sos = damaged.indexOf(Buffer.from([0xff, 0xda]));
  damaged.fill(0xff, sos + 100, sos + 140);
  await t.throwsAsync(decodeToSquare(damaged, { size: 16 }), { name: 'InvalidImageError' });
});

test('dropStrayHeaderBytes on mutated JPEG headers: always returns, and only ever removes bytes', async (t) => {
  const clean = await sharp(await png(20, 20, 3, (x, y) => [x * 9, y * 9, 7])).jpeg().toBuffer();
  const rng = new Rng(5);
  for (let n = 0; n < 2000; n++) {
    const mutated = Buffer.from(clean.subarray(0, 2 + rng.int(clean.length)));
    for (let k = rng.int(8); k > 0; k--) mutated[2 + rng.int(Math.min(400, mutated.length - 2))] = rng.int(4) === 0 ? 0xff : rng.int(256);
    const out = dropStrayHeaderBytes(mutated);
    // A subsequence of the input, checked by walking both.
    let i = 0;
    for (const byte of out) {
      while (i < mutated.length && mutated[i] !== byte) i++;
      i++;
    }
    t.true(out.length <= mutated.length && i <= mutated.length, `case ${n}`);
  }
});
