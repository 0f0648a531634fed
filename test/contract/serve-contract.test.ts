/**
 * Contract tier of the server: a real server on 127.0.0.1:0 and a real client, serving the shipped
 * default model (models/fashion-mnist-mini). Oracles: onnxruntime run here, offline, on the same
 * decoded image; ten crops cut here and run through the single-crop model; the same picture in
 * another encoding (grey, RGBA, CMYK, EXIF-rotated).
 */
import test from 'ava';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { decodeToSquare } from '../../src/image/decode.js';
import { AlexNetClient } from '../../src/serve/client.js';
import { startServer } from '../../src/serve/server.js';
import { Rng } from '../../src/util/rng.js';
import { byIndex, failure, maxDiff, MODEL, picture, png, quiet, raw, serveForTests } from '../serve-fixtures.js';

const served = serveForTests();

test('reflection lists the service', async (t) => {
  const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
    includeDirs: [fileURLToPath(new URL('../../../node_modules/@grpc/reflection/build/proto/', import.meta.url))],
    keepCase: true,
  });
  const R = (grpc.loadPackageDefinition(def) as any).grpc.reflection.v1.ServerReflection;
  const r = new R(served.server.address, grpc.credentials.createInsecure());
  const call = r.ServerReflectionInfo();
  call.write({ list_services: '' });
  const [reply] = (await once(call, 'data')) as [{ list_services_response: { service: { name: string }[] } }];
  call.end();
  r.close();
  const names = reply.list_services_response.service.map((s) => s.name);
  t.true(names.includes('alexnet.v1.AlexNet'), names.join(', '));
  t.true(names.includes('grpc.health.v1.Health'), names.join(', '));
  t.true(names.includes('inference.GRPCInferenceService'), names.join(', '));
});

test('served Classify and Embed equal onnxruntime run offline on the same decoded image', async (t) => {
  const image = await png(1);
  const n = served.meta.labels.length;
  const [c, e, off] = await Promise.all([
    served.client.classify({ image, top_k: n, include_embedding: true }),
    served.client.embed({ image, normalize: true }),
    served.offline(image),
  ]);
  t.is(c.classes.length, n);
  t.true(c.classes.every((x, i) => i === 0 || c.classes[i - 1]!.probability >= x.probability), 'ranked');
  t.true(maxDiff(byIndex(c.classes, n), off.p) <= 1e-6, `probabilities differ by ${maxDiff(byIndex(c.classes, n), off.p)}`);
  t.true(maxDiff(c.embedding!.vector, off.fc7) <= 1e-6 * Math.max(1, ...off.fc7), 'fc7');
  const norm = Math.hypot(...off.fc7);
  t.true(maxDiff(e.embedding!.vector, Array.from(off.fc7, (v) => v / norm)) <= 1e-6, 'normalized fc7');
  t.is(e.embedding!.dimension, served.meta.embeddingDimension);
  t.is(c.classes[0]!.label, served.meta.labels[c.classes[0]!.index]);
});

test('TEN_CROP equals the mean of ten single-crop runs on crops cut here; CENTER equals the center crop', async (t) => {
  const image = await png(2);
  const n = served.meta.labels.length;
  const [tenCrop, center] = await Promise.all([served.client.classify({ image, top_k: n }), served.client.classify({ image, top_k: n, crop: 'CENTER' })]);
  const { baseSize: b, inputSize: s } = served.meta;
  const d = await decodeToSquare(image, { size: b });
  const mean = served.meta.mean.kind === 'image' ? served.meta.mean.data : null;
  const cut = (x0: number, y0: number, flip: boolean) => {
    const chw = new Float32Array(3 * s * s);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++) {
          const sx = flip ? x0 + s - 1 - x : x0 + x;
          const at = ((y0 + y) * b + sx) * 3 + c;
          chw[(c * s + y) * s + x] = d.data[at]! - (mean ? mean[at]! : (served.meta.mean as { values: number[] }).values[c]!);
        }
    return chw;
  };
  const m = b - s;
  const c0 = Math.floor(m / 2);
  const spots: [number, number][] = [[0, 0], [m, 0], [0, m], [m, m], [c0, c0]];
  const avg = new Float64Array(n);
  let centerP: Float32Array | undefined;
  for (const flip of [false, true]) {
    for (const [x, y] of spots) {
      const out = await served.oracle.single.run({ input: new ort.Tensor('float32', cut(x, y, flip), [1, 3, s, s]) });
      const p = out.probabilities!.data as Float32Array;
      for (let i = 0; i < n; i++) avg[i]! += p[i]! / 10;
      if (!flip && x === c0 && y === c0) centerP = p;
    }
  }
  t.true(maxDiff(byIndex(tenCrop.classes, n), avg) <= 1e-6, `ten-crop differs by ${maxDiff(byIndex(tenCrop.classes, n), avg)}`);
  t.true(maxDiff(byIndex(center.classes, n), centerP!) <= 1e-6, `center differs by ${maxDiff(byIndex(center.classes, n), centerP!)}`);
  t.true(maxDiff(avg, centerP!) > 1e-4, 'the ten crops and the center crop give different answers (the check is not vacuous)');
});

test('a lone ten-crop call split across 2 or 3 workers equals the ten-crop model; with splitting off, nothing is split', async (t) => {
  const images = await Promise.all([3, 4, 5].map((k) => png(k)));
  const expected = await Promise.all(images.map((image) => served.offline(image)));
  const n = served.meta.labels.length;
  for (const [workers, split] of [[2, true], [3, true], [2, false]] as const) {
    const s = await startServer({ model: MODEL, port: 0, device: 'cpu', workers, threads: 1, maxDelayMs: 0, splitLoneImages: split, logger: quiet });
    const c = new AlexNetClient(s.address);
    try {
      for (let k = 0; k < images.length; k++) {
        // One call at a time: each is alone, with every worker free.
        const r = await c.classify({ image: images[k]!, top_k: n, include_embedding: true });
        const dp = maxDiff(byIndex(r.classes, n), expected[k]!.p);
        const de = maxDiff(r.embedding!.vector, expected[k]!.fc7);
        t.true(dp <= 1e-6, `${workers} workers, image ${k}: probabilities differ by ${dp}`);
        t.true(de <= 1e-6 * Math.max(1, ...expected[k]!.fc7), `${workers} workers, image ${k}: fc7 differs by ${de}`);
      }
      const center = await c.classify({ image: images[0]!, top_k: n, crop: 'CENTER' });
      t.is(center.classes.length, n);
      t.is(s.engine.stats.split, split ? images.length : 0, `${workers} workers, split ${split}: ten-crop calls split (CENTER never is)`);
      t.is(s.engine.stats.inferred, images.length + 1);
    } finally {
      c.close();
      await s.shutdown();
    }
  }
});

test('32 concurrent distinct images each get their own answer', async (t) => {
  const images = await Promise.all(Array.from({ length: 32 }, (_, k) => png(10 + k)));
  const n = served.meta.labels.length;
  const batchesBefore = served.server.engine.stats.batches;
  const answers = await Promise.all(images.map((image, k) => served.client.classify({ image, top_k: n, request_id: `r${k}` })));
  const batchesAfter = served.server.engine.stats.batches;
  for (let k = 0; k < 32; k++) {
    const off = await served.offline(images[k]!);
    t.is(answers[k]!.request_id, `r${k}`);
    t.true(maxDiff(byIndex(answers[k]!.classes, n), off.p) <= 1e-6, `image ${k}: ${maxDiff(byIndex(answers[k]!.classes, n), off.p)}`);
  }
  t.true(new Set(answers.map((r) => r.classes.map((c) => c.probability.toFixed(6)).join())).size > 16, 'the images give distinct answers');
  // The calls went through the batcher: at least the batches 32 images need at the server's batch size.
  const needed = Math.ceil(32 / served.server.info.max_batch_size!);
  t.true(batchesAfter - batchesBefore >= needed, `${batchesAfter - batchesBefore} batches for 32 calls (batch size ${served.server.info.max_batch_size})`);
});

test('a bidirectional stream answers each item in order, a bad item with its own error', async (t) => {
  const call = served.client.stream('ClassifyStream');
  const replies: { request_id: string; error: { code: number } | null; classes: unknown[] }[] = [];
  call.on('data', (r) => replies.push(r));
  const done = once(call, 'end');
  for (let k = 0; k < 6; k++) call.write({ image: k === 3 ? Buffer.from('not an image') : await png(50 + k), top_k: 3, request_id: `s${k}` } as never);
  call.end();
  await done;
  t.deepEqual(replies.map((r) => r.request_id), ['s0', 's1', 's2', 's3', 's4', 's5']);
  t.is(replies[3]!.error?.code, grpc.status.INVALID_ARGUMENT);
  t.true(replies.filter((_, i) => i !== 3).every((r) => r.error === null && r.classes.length === 3));
});

test('bad input: empty, random bytes, truncated JPEG, SVG/TIFF/GIF get INVALID_ARGUMENT with a message', async (t) => {
  const jpeg = await raw(picture(3)).jpeg().toBuffer();
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['random bytes', Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919 + 13) % 256))],
    ['truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length / 2))],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="red"/></svg>')],
    ['TIFF', await raw(picture(3)).tiff().toBuffer()],
    ['GIF', await raw(picture(3)).gif().toBuffer()],
  ];
  for (const [name, image] of cases) {
    const e = await failure(served.client, image);
    t.is(e.code, grpc.status.INVALID_ARGUMENT, `${name}: ${e.details}`);
    t.true(e.details.length > 10, `${name}: a message a caller can act on (${e.details})`);
  }
});

test('1,000 mutated or truncated images and 200 non-images: OK, INVALID_ARGUMENT or over the pixel limit, never a crash', async (t) => {
  // RELIABILITY.md's fuzz design: bytes flipped, runs overwritten, bytes inserted or deleted, files
  // cut short, in JPEG, PNG and WebP; and non-images, some wearing an image's magic bytes.
  const rng = new Rng(20261202);
  const originals = await Promise.all(
    [0, 1, 2].flatMap((k) => [raw(picture(40 + k)).jpeg({ quality: 80 + k }).toBuffer(), raw(picture(40 + k)).png().toBuffer(), raw(picture(40 + k)).webp().toBuffer()]),
  );
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rng.int(256)));
  const mutate = (src: Buffer): Buffer => {
    let b = Buffer.from(src);
    const at = () => rng.int(b.length);
    switch (rng.int(5)) {
      case 0: // flip 1-8 random bytes
        for (let i = 1 + rng.int(8); i > 0; i--) b[at()] ^= 1 + rng.int(255);
        break;
      case 1: // overwrite a run of up to 64 bytes
        randomBytes(1 + rng.int(64)).copy(b, at());
        break;
      case 2: // insert up to 32 bytes
        b = Buffer.concat([b.subarray(0, at()), randomBytes(1 + rng.int(32)), b.subarray(at())]);
        break;
      case 3: { // delete up to 32 bytes
        const from = at();
        b = Buffer.concat([b.subarray(0, from), b.subarray(from + 1 + rng.int(32))]);
        break;
      }
      default: // truncate
        b = b.subarray(0, at());
    }
    return b;
  };
  const magic = [Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'), Buffer.alloc(0)];
  const mutated = Array.from({ length: 1000 }, (_, i) => mutate(originals[i % originals.length]!));
  const nonImages = Array.from({ length: 200 }, (_, i) =>
    i % 4 === 3 ? Buffer.from(`not an image ${i} `.repeat(1 + rng.int(50))) : Buffer.concat([magic[i % 4]!, randomBytes(rng.int(3000))]),
  );
  const n = served.meta.labels.length;
  const outcomes = new Map<string, number>();
  const bad: string[] = [];
  const classifyAll = async (images: Buffer[], kind: string) => {
    let next = 0;
    const lane = async () => {
      while (next < images.length) {
        const i = next++;
        try {
          const r = await served.client.classify({ image: images[i]!, top_k: n });
          const sum = r.classes.reduce((s, c) => s + c.probability, 0);
          if (kind === 'non-image' || r.classes.length !== n || !(Math.abs(sum - 1) < 1e-4)) bad.push(`${kind} ${i}: OK with ${r.classes.length} classes summing to ${sum}`);
          outcomes.set(`${kind} OK`, (outcomes.get(`${kind} OK`) ?? 0) + 1);
        } catch (e) {
          const { code, details } = e as grpc.ServiceError;
          // A mutated header can claim a size over the pixel limit: RESOURCE_EXHAUSTED, as for a bomb.
          const expected = code === grpc.status.INVALID_ARGUMENT || (code === grpc.status.RESOURCE_EXHAUSTED && /over the limit/.test(details));
          if (!expected || !(details.length > 10)) bad.push(`${kind} ${i}: ${grpc.status[code]} ${details}`);
          outcomes.set(`${kind} ${grpc.status[code]}`, (outcomes.get(`${kind} ${grpc.status[code]}`) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
  };
  await classifyAll(mutated, 'mutated');
  await classifyAll(nonImages, 'non-image');
  t.log(Object.fromEntries(outcomes));
  t.deepEqual(bad, []);
  t.is([...outcomes.values()].reduce((a, b) => a + b, 0), 1200);
  t.true((outcomes.get('mutated INVALID_ARGUMENT') ?? 0) > 100, 'the mutations do break images');
  // Still serving, and still right, afterwards.
  const image = await png(5);
  t.true(maxDiff(byIndex((await served.client.classify({ image, top_k: n })).classes, n), (await served.offline(image)).p) <= 1e-6);
});

test('a 1x1 image, greyscale, RGBA, CMYK, 16-bit and EXIF-rotated images get the right answer', async (t) => {
  const n = served.meta.labels.length;
  const p = async (image: Buffer) => byIndex((await served.client.classify({ image, top_k: n })).classes, n);
  // 1x1: served, finite, and equal to the offline answer.
  const one = await raw(Buffer.from([200, 30, 90]), 1, 1).png().toBuffer();
  t.true(maxDiff(await p(one), (await served.offline(one)).p) <= 1e-6);
  // Greyscale: a one-channel PNG answers as the same grey in R=G=B.
  const grey = Buffer.from(picture(4).filter((_, i) => i % 3 === 0));
  const grey3 = Buffer.from(Array.from(grey).flatMap((v) => [v, v, v]));
  t.true(maxDiff(await p(await raw(grey, 56, 48, 1).png().toBuffer()), await p(await raw(grey3).png().toBuffer())) <= 1e-6, 'grey');
  // RGBA, opaque: the same as RGB.
  const rgb = picture(5);
  const rgba = Buffer.alloc(56 * 48 * 4, 255);
  for (let i = 0; i < 56 * 48; i++) rgb.copy(rgba, i * 4, i * 3, i * 3 + 3);
  const pRgb = await p(await raw(rgb).png().toBuffer());
  t.true(maxDiff(await p(await raw(rgba, 56, 48, 4).png().toBuffer()), pRgb) <= 1e-6, 'RGBA');
  // 16-bit PNG: decoded to 8 bits as the 8-bit file is, up to rounding inside the resampling
  // (two levels at most, a fraction of a level on average; misread 16-bit data is off by tens).
  const png16 = await raw(rgb).toColourspace('rgb16').png().toBuffer();
  t.is((await sharp(png16).metadata()).depth, 'ushort');
  const [d16, d8] = await Promise.all([png16, await raw(rgb).png().toBuffer()].map((x) => decodeToSquare(x, { size: served.meta.baseSize })));
  const diffs = d16!.data.map((v, i) => Math.abs(v - d8!.data[i]!));
  const worst16 = diffs.reduce((m, v) => Math.max(m, v), 0);
  const mean16 = diffs.reduce((m, v) => m + v, 0) / diffs.length;
  t.true(worst16 <= 2 && mean16 < 0.5, `16-bit vs 8-bit decode: worst ${worst16} levels, mean ${mean16}`);
  t.true(maxDiff(await p(png16), (await served.offline(png16)).p) <= 1e-6, '16-bit served = offline');
  // CMYK JPEG: converted to sRGB through its colour profile. The CMYK gamut is smaller than
  // sRGB's, so the round trip moves colours by a few levels; a CMYK file read as if it were RGB
  // (or inverted) would be off by a hundred.
  const jpeg = await raw(rgb).jpeg({ quality: 95 }).toBuffer();
  const cmyk = await raw(rgb).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  t.is((await sharp(cmyk).metadata()).space, 'cmyk');
  const [dj, dc] = await Promise.all([decodeToSquare(jpeg, { size: served.meta.baseSize }), decodeToSquare(cmyk, { size: served.meta.baseSize })]);
  const meanAbs = dj.data.reduce((acc, v, i) => acc + Math.abs(v - dc.data[i]!), 0) / dj.data.length;
  t.true(meanAbs < 15, `CMYK decoded ${meanAbs} levels away from the RGB JPEG`);
  t.true(maxDiff(await p(cmyk), (await served.offline(cmyk)).p) <= 1e-6, 'CMYK served = offline');
  // EXIF orientation 6 (display rotated 90 degrees clockwise) answers as the picture rotated.
  const stored = raw(picture(6)).webp({ lossless: true }).withMetadata({ orientation: 6 });
  const rotated = await raw(picture(6)).rotate(90).png().toBuffer();
  const upright = await raw(picture(6)).png().toBuffer();
  const exif = await stored.toBuffer();
  // libvips rotates after resizing, so the two differ by resampling (half a pixel on this
  // high-frequency picture: ~5 levels on average); unrotated, they would differ by ~65.
  const [de, dr, du] = await Promise.all([exif, rotated, upright].map((x) => decodeToSquare(x, { size: served.meta.baseSize })));
  const levels = (a: Uint8Array, b: Uint8Array) => a.reduce((acc, v, i) => acc + Math.abs(v - b[i]!), 0) / a.length;
  t.true(levels(de!.data, dr!.data) < 10, `EXIF-rotated vs rotated: ${levels(de!.data, dr!.data)} levels`);
  t.true(levels(de!.data, du!.data) > 40, `EXIF-rotated vs upright: ${levels(de!.data, du!.data)} levels`);
  const pExif = await p(exif);
  t.true(maxDiff(pExif, await p(rotated)) < maxDiff(pExif, await p(upright)), 'the served answer is the rotated picture\'s');
});
