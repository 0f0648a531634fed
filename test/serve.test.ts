/**
 * The gRPC server, with a real server on 127.0.0.1:0 and a real client, serving the shipped
 * default model (models/fashion-mnist-mini). Oracles: onnxruntime run here, offline, on the same
 * decoded image; ten crops cut here and run through the single-crop model; the same picture in
 * another encoding (grey, RGBA, CMYK, EXIF-rotated).
 */
import test from 'ava';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { decodeToSquare } from '../src/image/decode.js';
import { readModelMetadata, type ModelMetadata } from '../src/model/onnx-metadata.js';
import { AlexNetClient } from '../src/serve/client.js';
import { createLogger } from '../src/serve/log.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { Rng } from '../src/util/rng.js';
import { tempDir } from './temp-dir.js';

const MODEL = fileURLToPath(new URL('../../models/fashion-mnist-mini/model.onnx', import.meta.url));
const TEN = MODEL.replace(/\.onnx$/, '.tencrop.onnx');
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const quiet = createLogger('error', () => undefined);

/** A picture with structure at every scale (so crops and rotations change the answer), seeded by k. */
function picture(k: number, width = 56, height = 48): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = 127 + 120 * Math.sin((x * (k + 2)) / 9 + (y * (k % 5)) / 7) * Math.cos((y * (1 + (k % 3))) / 11 - k);
      const i = (y * width + x) * 3;
      px[i] = Math.max(0, Math.min(255, Math.round(v + (x < width / 3 ? 60 : 0))));
      px[i + 1] = Math.max(0, Math.min(255, Math.round(v * 0.8 + (y > height / 2 ? 50 : 0))));
      px[i + 2] = Math.max(0, Math.min(255, Math.round(255 - v)));
    }
  }
  return px;
}
const raw = (px: Buffer, width = 56, height = 48, channels: 1 | 3 | 4 = 3) => sharp(px, { raw: { width, height, channels } });
const png = (k: number) => raw(picture(k)).png().toBuffer();

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const byIndex = (classes: { index: number; probability: number }[], n: number) => {
  const p = new Float64Array(n);
  for (const c of classes) p[c.index] = c.probability;
  return p;
};

let server: RunningServer;
let client: AlexNetClient;
let meta: ModelMetadata;
let ten: ort.InferenceSession;
let single: ort.InferenceSession;
const statusesSeen: string[] = [];

test.before(async () => {
  meta = await readModelMetadata(MODEL);
  [ten, single] = await Promise.all([ort.InferenceSession.create(TEN), ort.InferenceSession.create(MODEL)]);
  let watching: Promise<void> = Promise.resolve();
  server = await startServer({
    model: MODEL,
    port: 0,
    device: 'cpu',
    maxDelayMs: 5,
    logger: quiet,
    onListening: (port) => {
      // Watch health from the moment the port is bound, while the model is still loading.
      const Health = grpc.loadPackageDefinition(protoLoader.loadSync(fileURLToPath(new URL('../../node_modules/grpc-health-check/proto/health/v1/health.proto', import.meta.url)), { enums: String })) as any;
      const h = new Health.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const watch = h.Watch({ service: 'alexnet.v1.AlexNet' });
      watching = new Promise((resolve) => {
        watch.on('data', (m: { status: string }) => {
          statusesSeen.push(m.status);
          if (m.status === 'SERVING') {
            watch.cancel();
            resolve();
          }
        });
        watch.on('error', () => resolve());
      });
    },
  });
  await watching;
  client = new AlexNetClient(server.address);
});

test.after.always(async () => {
  client?.close();
  await server?.shutdown('tests done');
});

/** Offline: decode with the shared image module, run the ten-crop model here. */
async function offline(image: Buffer): Promise<{ p: Float32Array; fc7: Float32Array }> {
  const d = await decodeToSquare(image, { size: meta.baseSize });
  const out = await ten.run({ images: new ort.Tensor('uint8', d.data, [1, meta.baseSize, meta.baseSize, 3]) });
  return { p: out.probabilities!.data as Float32Array, fc7: out.fc7!.data as Float32Array };
}

test('health goes NOT_SERVING -> SERVING, and the model info describes the served model', async (t) => {
  t.is(statusesSeen[0], 'NOT_SERVING');
  t.is(statusesSeen.at(-1), 'SERVING');
  const info = await client.modelInfo();
  t.deepEqual(info.labels, meta.labels);
  t.is(info.preset, meta.preset);
  t.is(info.base_size, meta.baseSize);
  t.is(info.execution_provider, 'cpu');
  t.is(info.model!.version, meta.checkpointSha256.slice(0, 12));
});

test('reflection lists the service', async (t) => {
  const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
    includeDirs: [fileURLToPath(new URL('../../node_modules/@grpc/reflection/build/proto/', import.meta.url))],
    keepCase: true,
  });
  const R = (grpc.loadPackageDefinition(def) as any).grpc.reflection.v1.ServerReflection;
  const r = new R(server.address, grpc.credentials.createInsecure());
  const call = r.ServerReflectionInfo();
  call.write({ list_services: '' });
  const [reply] = (await once(call, 'data')) as [{ list_services_response: { service: { name: string }[] } }];
  call.end();
  r.close();
  const names = reply.list_services_response.service.map((s) => s.name);
  t.true(names.includes('alexnet.v1.AlexNet'), names.join(', '));
  t.true(names.includes('grpc.health.v1.Health'), names.join(', '));
});

test('served Classify and Embed equal onnxruntime run offline on the same decoded image', async (t) => {
  const image = await png(1);
  const n = meta.labels.length;
  const [c, e, off] = await Promise.all([
    client.classify({ image, top_k: n, include_embedding: true }),
    client.embed({ image, normalize: true }),
    offline(image),
  ]);
  t.is(c.classes.length, n);
  t.true(c.classes.every((x, i) => i === 0 || c.classes[i - 1]!.probability >= x.probability), 'ranked');
  t.true(maxDiff(byIndex(c.classes, n), off.p) <= 1e-6, `probabilities differ by ${maxDiff(byIndex(c.classes, n), off.p)}`);
  t.true(maxDiff(c.embedding!.vector, off.fc7) <= 1e-6 * Math.max(1, ...off.fc7), 'fc7');
  const norm = Math.hypot(...off.fc7);
  t.true(maxDiff(e.embedding!.vector, Array.from(off.fc7, (v) => v / norm)) <= 1e-6, 'normalized fc7');
  t.is(e.embedding!.dimension, meta.embeddingDimension);
  t.is(c.classes[0]!.label, meta.labels[c.classes[0]!.index]);
});

test('TEN_CROP equals the mean of ten single-crop runs on crops cut here; CENTER equals the center crop', async (t) => {
  const image = await png(2);
  const n = meta.labels.length;
  const [tenCrop, center] = await Promise.all([client.classify({ image, top_k: n }), client.classify({ image, top_k: n, crop: 'CENTER' })]);
  const { baseSize: b, inputSize: s } = meta;
  const d = await decodeToSquare(image, { size: b });
  const mean = meta.mean.kind === 'image' ? meta.mean.data : null;
  const cut = (x0: number, y0: number, flip: boolean) => {
    const chw = new Float32Array(3 * s * s);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++) {
          const sx = flip ? x0 + s - 1 - x : x0 + x;
          const at = ((y0 + y) * b + sx) * 3 + c;
          chw[(c * s + y) * s + x] = d.data[at]! - (mean ? mean[at]! : (meta.mean as { values: number[] }).values[c]!);
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
      const out = await single.run({ input: new ort.Tensor('float32', cut(x, y, flip), [1, 3, s, s]) });
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
  const expected = await Promise.all(images.map((image) => offline(image)));
  const n = meta.labels.length;
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
  const n = meta.labels.length;
  const served = await Promise.all(images.map((image, k) => client.classify({ image, top_k: n, request_id: `r${k}` })));
  const batchesBefore = server.engine.stats.batches;
  for (let k = 0; k < 32; k++) {
    const off = await offline(images[k]!);
    t.is(served[k]!.request_id, `r${k}`);
    t.true(maxDiff(byIndex(served[k]!.classes, n), off.p) <= 1e-6, `image ${k}: ${maxDiff(byIndex(served[k]!.classes, n), off.p)}`);
  }
  t.true(new Set(served.map((r) => r.classes.map((c) => c.probability.toFixed(6)).join())).size > 16, 'the images give distinct answers');
  t.true(batchesBefore > 0);
});

test('a bidirectional stream answers each item in order, a bad item with its own error', async (t) => {
  const call = client.stream('ClassifyStream');
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

/** The status code of a call that must fail. */
async function failure(image: Buffer): Promise<{ code: number; details: string }> {
  try {
    await client.classify({ image });
  } catch (e) {
    return e as { code: number; details: string };
  }
  throw new Error('the call succeeded');
}

/** A PNG whose header says width x height, with no pixel data worth the name (a decompression bomb's header). */
function pngHeader(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', Buffer.alloc(0))]);
}

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
    const e = await failure(image);
    t.is(e.code, grpc.status.INVALID_ARGUMENT, `${name}: ${e.details}`);
    t.true(e.details.length > 10, `${name}: a message a caller can act on (${e.details})`);
  }
});

test('a 30000x30000 PNG header is refused with RESOURCE_EXHAUSTED without being decoded', async (t) => {
  const before = process.memoryUsage().rss;
  const e = await failure(pngHeader(30000, 30000));
  t.is(e.code, grpc.status.RESOURCE_EXHAUSTED, e.details);
  t.regex(e.details, /30000x30000/);
  // Decoding it would need 2.7 GB.
  t.true(process.memoryUsage().rss - before < 200e6);
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
  const n = meta.labels.length;
  const outcomes = new Map<string, number>();
  const bad: string[] = [];
  const classifyAll = async (images: Buffer[], kind: string) => {
    let next = 0;
    const lane = async () => {
      while (next < images.length) {
        const i = next++;
        try {
          const r = await client.classify({ image: images[i]!, top_k: n });
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
  t.true(maxDiff(byIndex((await client.classify({ image, top_k: n })).classes, n), (await offline(image)).p) <= 1e-6);
});

test('a 1x1 image, greyscale, RGBA, CMYK, 16-bit and EXIF-rotated images get the right answer', async (t) => {
  const n = meta.labels.length;
  const p = async (image: Buffer) => byIndex((await client.classify({ image, top_k: n })).classes, n);
  // 1x1: served, finite, and equal to the offline answer.
  const one = await raw(Buffer.from([200, 30, 90]), 1, 1).png().toBuffer();
  t.true(maxDiff(await p(one), (await offline(one)).p) <= 1e-6);
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
  const [d16, d8] = await Promise.all([png16, await raw(rgb).png().toBuffer()].map((x) => decodeToSquare(x, { size: meta.baseSize })));
  const diffs = d16!.data.map((v, i) => Math.abs(v - d8!.data[i]!));
  const worst16 = diffs.reduce((m, v) => Math.max(m, v), 0);
  const mean16 = diffs.reduce((m, v) => m + v, 0) / diffs.length;
  t.true(worst16 <= 2 && mean16 < 0.5, `16-bit vs 8-bit decode: worst ${worst16} levels, mean ${mean16}`);
  t.true(maxDiff(await p(png16), (await offline(png16)).p) <= 1e-6, '16-bit served = offline');
  // CMYK JPEG: converted to sRGB through its colour profile. The CMYK gamut is smaller than
  // sRGB's, so the round trip moves colours by a few levels; a CMYK file read as if it were RGB
  // (or inverted) would be off by a hundred.
  const jpeg = await raw(rgb).jpeg({ quality: 95 }).toBuffer();
  const cmyk = await raw(rgb).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  t.is((await sharp(cmyk).metadata()).space, 'cmyk');
  const [dj, dc] = await Promise.all([decodeToSquare(jpeg, { size: meta.baseSize }), decodeToSquare(cmyk, { size: meta.baseSize })]);
  const meanAbs = dj.data.reduce((acc, v, i) => acc + Math.abs(v - dc.data[i]!), 0) / dj.data.length;
  t.true(meanAbs < 15, `CMYK decoded ${meanAbs} levels away from the RGB JPEG`);
  t.true(maxDiff(await p(cmyk), (await offline(cmyk)).p) <= 1e-6, 'CMYK served = offline');
  // EXIF orientation 6 (display rotated 90 degrees clockwise) answers as the picture rotated.
  const stored = raw(picture(6)).webp({ lossless: true }).withMetadata({ orientation: 6 });
  const rotated = await raw(picture(6)).rotate(90).png().toBuffer();
  const upright = await raw(picture(6)).png().toBuffer();
  const exif = await stored.toBuffer();
  // libvips rotates after resizing, so the two differ by resampling (half a pixel on this
  // high-frequency picture: ~5 levels on average); unrotated, they would differ by ~65.
  const [de, dr, du] = await Promise.all([exif, rotated, upright].map((x) => decodeToSquare(x, { size: meta.baseSize })));
  const levels = (a: Uint8Array, b: Uint8Array) => a.reduce((acc, v, i) => acc + Math.abs(v - b[i]!), 0) / a.length;
  t.true(levels(de!.data, dr!.data) < 10, `EXIF-rotated vs rotated: ${levels(de!.data, dr!.data)} levels`);
  t.true(levels(de!.data, du!.data) > 40, `EXIF-rotated vs upright: ${levels(de!.data, du!.data)} levels`);
  const pExif = await p(exif);
  t.true(maxDiff(pExif, await p(rotated)) < maxDiff(pExif, await p(upright)), 'the served answer is the rotated picture\'s');
});

test('an expired deadline and a cancelled call never reach the model; a full queue refuses at once', async (t) => {
  // Batches wait up to 400 ms to fill, so a call sits in the queue long enough to expire or be cancelled.
  const slow = await startServer({ model: MODEL, port: 0, device: 'cpu', maxBatch: 64, maxDelayMs: 400, maxQueue: 4, logger: quiet });
  const c = new AlexNetClient(slow.address);
  try {
    const image = await png(7);
    const inferred = slow.engine.stats.inferred;
    const expired = await c.classify({ image }, { timeoutMs: 60 }).catch((e: grpc.ServiceError) => e);
    t.is((expired as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 60);
    const cancelled = await c.classify({ image }, { signal: abort.signal }).catch((e: grpc.ServiceError) => e);
    t.is((cancelled as grpc.ServiceError).code, grpc.status.CANCELLED);
    await new Promise((r) => setTimeout(r, 500)); // past the batching delay: had they stayed queued, they would have run
    t.is(slow.engine.stats.inferred, inferred, 'no image of those calls reached the model');
    t.is(slow.engine.queued, 0);
    // Queue of 4: of 12 concurrent calls, the first 4 wait, the rest are refused at once.
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 12 }, () => c.classify({ image }).then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code])));
    t.is(results.filter((r) => r === 'OK').length, 4, results.join());
    t.is(results.filter((r) => r === 'RESOURCE_EXHAUSTED').length, 8, results.join());
    t.true(performance.now() - t0 < 5000);
  } finally {
    c.close();
    await slow.shutdown();
  }
});

test('SIGTERM under load: every accepted call is answered right, later ones get UNAVAILABLE, exit 0', async (t) => {
  // Batches wait 300 ms to fill (max batch 64 > 8 callers), and the server logs its calls in flight
  // every 10 ms: SIGTERM goes when the server itself says calls are waiting, whatever this machine's speed.
  const args = ['serve', '--model', MODEL, '--port', '0', '--device', 'cpu', '--max-batch', '64', '--max-delay-ms', '300', '--stats-interval-ms', '10'];
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let busy: (() => void) | undefined;
  const address = await new Promise<string>((resolve, reject) => {
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"msg":"serving","address":"([^"]+)"/.exec(log);
      if (m) resolve(m[1]!);
      if (busy && /"msg":"stats".*"inFlight":[1-9]/.test(d.toString())) busy();
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${log}`)));
  });
  const c = new AlexNetClient(address);
  await c.modelInfo(); // connected before the load starts
  const image = await png(8);
  const expected = (await offline(image)).p;
  const n = meta.labels.length;
  const fire = () =>
    c.classify({ image, top_k: n }).then(
      (r) => (maxDiff(byIndex(r.classes, n), expected) <= 1e-6 ? 'OK' : 'WRONG'),
      (e: grpc.ServiceError) => grpc.status[e.code] ?? String(e.code),
    );
  // A closed loop of 8 callers: each fires again as soon as it is answered, until it is refused.
  const results: string[] = [];
  const caller = async () => {
    for (;;) {
      const r = await fire();
      results.push(r);
      if (r !== 'OK' || results.length > 5000) return;
    }
  };
  const loaded = new Promise<void>((r) => (busy = r));
  const callers = Array.from({ length: 8 }, caller);
  await Promise.race([loaded, Promise.all(callers)]);
  const beforeTerm = results.length;
  proc.kill('SIGTERM');
  const exit = once(proc, 'exit');
  await Promise.all(callers);
  const [code] = (await exit) as [number];
  c.close();
  t.is(code, 0, log);
  // Every call is answered right or refused; none is lost, cut off or wrong.
  t.true(results.every((r) => r === 'OK' || r === 'UNAVAILABLE'), results.join());
  // The calls in flight when SIGTERM came (the server logs how many) all finished.
  const inFlight = Number(/"msg":"shutting down","reason":"SIGTERM","inFlight":(\d+)/.exec(log)?.[1]);
  t.true(inFlight > 0, `the server was under load when SIGTERM came (${inFlight} in flight)`);
  t.true(results.slice(beforeTerm).filter((r) => r === 'OK').length >= inFlight, results.join());
  t.true(results.includes('UNAVAILABLE'), 'calls after SIGTERM were refused');
  // The stats lines (--stats-interval-ms) carry the figures bench:serve reads: with calls in flight, CPU was used (decoding).
  const stats = log.split('\n').filter((l) => l.includes('"msg":"stats"')).map((l) => JSON.parse(l) as Record<string, number | null>);
  const busyLine = stats.find((s) => (s.inFlight ?? 0) > 0);
  t.truthy(busyLine, log);
  t.true(busyLine!.cpuCores! > 0 && typeof busyLine!.inferred === 'number' && typeof busyLine!.batches === 'number' && typeof busyLine!.queued === 'number', JSON.stringify(busyLine));
});

/** The alexnet CLI as a child process: its exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(p, 'exit')) as [number];
  return { code, out, err };
}

test('classify and embed CLI: a bad image among good ones is reported, the good ones are still answered, exit 1', async (t) => {
  const { promises: fs } = await import('node:fs');
  const path = await import('node:path');
  const dir = await tempDir('classify');
  const good = [path.join(dir, 'a.png'), path.join(dir, 'c.png')];
  const bad = path.join(dir, 'b.png');
  await fs.writeFile(good[0]!, await png(11));
  await fs.writeFile(bad, Buffer.from('not an image at all'));
  await fs.writeFile(good[1]!, await png(12));
  const run = (args: string[]) => cli(...args, good[0]!, bad, good[1]!, '--server', server.address);
  const n = meta.labels.length;
  const c = await run(['classify', '--json', '--top-k', String(n)]);
  t.is(c.code, 1, c.err);
  t.regex(c.err, /b\.png: .*unsupported image format/);
  const answered = JSON.parse(c.out) as { file: string; classes: { index: number; probability: number }[] }[];
  t.deepEqual(answered.map((r) => r.file), good);
  // Each good file's answer is its own: equal to onnxruntime offline on that image.
  for (const [i, r] of answered.entries()) t.true(maxDiff(byIndex(r.classes, n), (await offline(await png(11 + i))).p) <= 1e-6);
  const e = await run(['embed']);
  t.is(e.code, 1, e.err);
  t.regex(e.err, /b\.png: /);
  t.deepEqual(e.out.trim().split('\n').map((l) => (JSON.parse(l) as { file: string }).file), good);
});

test('a model of fewer than 5 classes: classify without --top-k lists every class; a top_k over the classes is refused', async (t) => {
  const path = await import('node:path');
  const { promises: fs } = await import('node:fs');
  const dir = await tempDir('few-classes');
  t.is((await cli('init', '--preset', 'tiny', '--classes', '3', '--out', path.join(dir, 'ck'))).code, 0);
  const model = path.join(dir, 'three.onnx');
  t.is((await cli('export', path.join(dir, 'ck'), '-o', model)).code, 0);
  const s = await startServer({ model, port: 0, device: 'cpu', logger: quiet });
  try {
    const file = path.join(dir, 'a.png');
    await fs.writeFile(file, await png(13));
    const c = await cli('classify', file, '--json', '--server', s.address);
    t.is(c.code, 0, c.err);
    const [answer] = JSON.parse(c.out) as { classes: { index: number; probability: number }[] }[];
    t.deepEqual(answer!.classes.map((k) => k.index).sort(), [0, 1, 2]);
    t.true(Math.abs(answer!.classes.reduce((sum, k) => sum + k.probability, 0) - 1) < 1e-5, 'the whole distribution');
    const over = await cli('classify', file, '--top-k', '4', '--server', s.address);
    t.is(over.code, 1);
    t.regex(over.err, /top_k 4 is more than the model's 3 classes/);
  } finally {
    await s.shutdown();
  }
});

test('a port already in use is refused with a message saying so', async (t) => {
  await t.throwsAsync(startServer({ model: MODEL, port: server.port, device: 'cpu', logger: quiet }), {
    name: 'ConfigError',
    message: new RegExp(`cannot listen on 127\\.0\\.0\\.1:${server.port}: the port is already in use`),
  });
});
