/**
 * The fc7 vectors of all 70,000 Fashion-MNIST images (the 60,000 training images, then the 10,000
 * test images, in the IDX files' order), computed as the server's Embed computes them, and cached
 * in os.tmpdir() under the model's fingerprint so a later run reads them back.
 *
 * The server's path for an image: its encoded bytes -> decodeToSquare(bytes, baseSize) -> the
 * ten-crop model fed the decoded uint8 square (inference-worker.ts, mode 'ten'). Each 28x28 grey
 * image is encoded here as a PNG with sharp and goes the same way, with onnxruntime-node called
 * directly (in batches) instead of over gRPC. bench:search checks a sample against Embed itself.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { decodeToSquare } from '../src/image/decode.js';
import type { ModelFiles } from '../src/model/model-files.js';
import { FASHION_MNIST_DIR, readIdx } from '../src/train/fashion-mnist.js';

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

export interface FashionMnist {
  /** 70,000 x 784 grey bytes: training images first, then test images. */
  images: Uint8Array;
  labels: Uint8Array;
  train: number;
  test: number;
}

export async function loadFashionMnist(dir = FASHION_MNIST_DIR): Promise<FashionMnist> {
  const read = (name: string) => readIdx(path.join(dir, `${name}.gz`));
  const [ti, tl, si, sl] = await Promise.all([read('train-images-idx3-ubyte'), read('train-labels-idx1-ubyte'), read('t10k-images-idx3-ubyte'), read('t10k-labels-idx1-ubyte')]);
  const train = ti.dims[0]!;
  const test = si.dims[0]!;
  const images = new Uint8Array((train + test) * PIXELS);
  images.set(ti.data, 0);
  images.set(si.data, train * PIXELS);
  const labels = new Uint8Array(train + test);
  labels.set(tl.data, 0);
  labels.set(sl.data, train);
  return { images, labels, train, test };
}

/** Image `i` as the PNG a client would send (one grey channel, 28x28). */
export function pngOf(data: FashionMnist, i: number): Promise<Buffer> {
  const px = data.images.subarray(i * PIXELS, (i + 1) * PIXELS);
  return sharp(Buffer.from(px.buffer, px.byteOffset, px.byteLength), { raw: { width: SIDE, height: SIDE, channels: 1 } })
    .png()
    .toBuffer();
}

/** Where the vectors of this model are cached (the preprocessing's version in the name). */
export function fc7CachePath(model: ModelFiles): string {
  return path.join(os.tmpdir(), `alexnet-fashion-mnist-fc7-${model.fingerprint}-png-tencrop-v1.f32`);
}

/** Every image's fc7 vector (count x dimension, row-major): from the cache, or computed and cached. */
export async function fashionFc7(model: ModelFiles, data: FashionMnist, log: (line: string) => void): Promise<Float32Array> {
  const dim = model.metadata.embeddingDimension;
  const count = data.labels.length;
  const file = fc7CachePath(model);
  const cached = await fs.readFile(file).catch(() => undefined);
  if (cached && cached.byteLength === count * dim * 4) {
    log(`fc7 vectors read from ${file}`);
    return new Float32Array(cached.buffer.slice(cached.byteOffset, cached.byteOffset + cached.byteLength));
  }
  log(`computing the fc7 vectors of ${count} images (PNG -> decodeToSquare -> ten-crop model), cached in ${file}`);
  const threads = os.availableParallelism();
  const session = await ort.InferenceSession.create(model.tenCropPath, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableCpuMemArena: false });
  const size = model.metadata.baseSize;
  const px = size * size * 3;
  const batch = 64;
  const vectors = new Float32Array(count * dim);
  /** A batch's images decoded exactly as a served image is ([n, size, size, 3] uint8 NHWC). */
  const decode = async (start: number): Promise<Uint8Array> => {
    const n = Math.min(batch, count - start);
    const out = new Uint8Array(n * px);
    await Promise.all(
      Array.from({ length: n }, async (_, j) => {
        const square = await decodeToSquare(await pngOf(data, start + j), { size });
        out.set(square.data, j * px);
      }),
    );
    return out;
  };
  const t0 = performance.now();
  let next = decode(0);
  for (let start = 0; start < count; start += batch) {
    const images = await next;
    // The next batch decodes while this one runs.
    if (start + batch < count) next = decode(start + batch);
    const n = images.length / px;
    const out = await session.run({ images: new ort.Tensor('uint8', images, [n, size, size, 3]) });
    vectors.set(out.fc7!.data as Float32Array, start * dim);
    if ((start / batch) % 100 === 99) log(`  ${start + n} of ${count} images, ${((start + n) / ((performance.now() - t0) / 1000)).toFixed(0)} images/s`);
  }
  await session.release();
  log(`  ${count} images in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, new Uint8Array(vectors.buffer));
  await fs.rename(tmp, file);
  return vectors;
}
