/**
 * Fashion-MNIST (Debian's dataset-fashion-mnist: IDX files under
 * /usr/share/datasets/fashion-mnist/) straight into a data cache.
 *
 * Each 28x28 grey image is upsampled to the preset's base size with sharp's bicubic resize,
 * then its grey value is replicated into R, G and B (the network keeps the paper's 3 input
 * channels). The last `valCount` training images (after a seeded shuffle) become the
 * validation split that drives the learning-rate schedule; the official 10,000-image test set
 * is the `test` split, used only for the final evaluation.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConfigError } from '../errors.js';
import { resizeGrey } from '../image/decode.js';
import { Rng } from '../util/rng.js';
import { SplitWriter, writeDataCache, type CacheMeta } from './data-cache.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

interface Idx {
  dims: number[];
  data: Uint8Array;
}

export async function readIdx(file: string): Promise<Idx> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message} (install Debian's dataset-fashion-mnist package)`);
  }
  if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
  if (bytes.readUInt16BE(0) !== 0 || bytes[2] !== 0x08) throw new ConfigError(`${file} is not an unsigned-byte IDX file`);
  const rank = bytes[3]!;
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== offset + size) throw new ConfigError(`${file} is truncated: ${bytes.length - offset} of ${size} bytes`);
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + offset, size) };
}

export interface FashionMnistOptions {
  out: string;
  /** Side of the square images written (NetworkSpec.baseSize). */
  baseSize: number;
  valCount?: number;
  seed?: number;
  source?: string;
  /** Use only the first `limit` training and test images (for quick tries and tests). */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function prepareFashionMnist(options: FashionMnistOptions): Promise<CacheMeta> {
  const src = options.source ?? FASHION_MNIST_DIR;
  const load = async (kind: 'train' | 't10k') => {
    const images = await readIdx(path.join(src, `${kind}-images-idx3-ubyte.gz`));
    const labels = await readIdx(path.join(src, `${kind}-labels-idx1-ubyte.gz`));
    if (images.dims[0] !== labels.dims[0] || images.dims[1] !== 28 || images.dims[2] !== 28) {
      throw new ConfigError(`${src}: ${kind} images and labels do not match`);
    }
    return { images: images.data, labels: labels.data, count: Math.min(images.dims[0]!, options.limit ?? Infinity) };
  };
  const train = await load('train');
  const test = await load('t10k');
  const valCount = Math.min(options.valCount ?? Math.round(train.count / 12), train.count - 1);
  const order = Array.from({ length: train.count }, (_, i) => i);
  const rng = new Rng(options.seed ?? 1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const { baseSize } = options;
  const splits = {
    train: new SplitWriter(train.count - valCount, baseSize),
    val: new SplitWriter(valCount, baseSize),
    test: new SplitWriter(test.count, baseSize),
  };
  const total = train.count + test.count;
  let done = 0;
  const convert = async (images: Uint8Array, index: number): Promise<Uint8Array> => {
    const grey = await resizeGrey(images.subarray(index * 784, (index + 1) * 784), 28, baseSize);
    const rgb = new Uint8Array(baseSize * baseSize * 3);
    for (let p = 0; p < grey.length; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey[p]!;
    if (++done % 1000 === 0) options.onProgress?.(done, total);
    return rgb;
  };
  // Resize in chunks so libvips works on several images at once (libuv's thread pool).
  const CHUNK = 64;
  for (let k = 0; k < order.length; k += CHUNK) {
    const idx = order.slice(k, k + CHUNK);
    const rgb = await Promise.all(idx.map((i) => convert(train.images, i)));
    idx.forEach((i, j) => (k + j < train.count - valCount ? splits.train : splits.val).add(rgb[j]!, train.labels[i]!));
  }
  for (let k = 0; k < test.count; k += CHUNK) {
    const idx = Array.from({ length: Math.min(CHUNK, test.count - k) }, (_, j) => k + j);
    const rgb = await Promise.all(idx.map((i) => convert(test.images, i)));
    idx.forEach((i, j) => splits.test.add(rgb[j]!, test.labels[i]!));
  }
  options.onProgress?.(total, total);
  return writeDataCache(options.out, baseSize, FASHION_MNIST_LABELS, splits, `fashion-mnist:${src}`);
}
