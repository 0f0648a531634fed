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
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConfigError, InterruptedError } from '../errors.js';
import { resizeGrey } from '../image/decode.js';
import { Rng } from '../util/rng.js';
import { CACHE_VERSION, type CacheMeta } from './cache-format.js';
import { CacheWriter } from './cache-writer.js';
import { inOrder } from './in-order.js';

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
  /** Aborting stops after the images in hand are written; the conversion resumes from there. */
  signal?: AbortSignal;
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
  const trainCount = train.count - valCount;
  // A --limit and --val that leave a class without training images, or no validation at all, make data train refuses: say it here, in their terms.
  const trained = new Set(order.slice(0, trainCount).map((i) => train.labels[i]!));
  const untrained = FASHION_MNIST_LABELS.filter((_, c) => !trained.has(c));
  if (valCount < 1 || untrained.length > 0) {
    throw new ConfigError(`--limit ${train.count} with --val ${valCount} leaves ${valCount < 1 ? 'no validation image' : `no training image of ${untrained.join(', ')}`}: ${valCount < 1 ? 'raise --limit or --val' : 'lower --val or raise --limit'}`);
  }
  // Every image in the order written: the shuffled training images (train, then val), then test.
  const items = [...order.map((i, k) => ({ from: train, i, split: k < trainCount ? ('train' as const) : ('val' as const) })), ...Array.from({ length: test.count }, (_, i) => ({ from: test, i, split: 'test' as const }))];
  const source = `fashion-mnist:${src}`;
  const fingerprint = createHash('sha256').update(JSON.stringify({ version: CACHE_VERSION, baseSize, source, limit: options.limit ?? null, valCount, seed: options.seed ?? 1 })).digest('hex');
  const writer = await CacheWriter.open(options.out, { baseSize, store: 'raw', classes: FASHION_MNIST_LABELS, source, splits: ['train', 'val', 'test'], fingerprint });
  let finished = false;
  try {
    const convert = async (k: number): Promise<Uint8Array> => {
      const { from, i } = items[k]!;
      const grey = await resizeGrey(from.images.subarray(i * 784, (i + 1) * 784), 28, baseSize);
      const rgb = new Uint8Array(baseSize * baseSize * 3);
      for (let p = 0; p < grey.length; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey[p]!;
      return rgb;
    };
    // Resize several at once so libvips works on as many images as libuv has threads.
    const take = async (k: number, rgb: Uint8Array) => {
      const { from, i, split } = items[k]!;
      await writer.append(split, from.labels[i]!, rgb);
      if ((k + 1) % 1000 === 0) options.onProgress?.(k + 1, items.length);
    };
    const done = await inOrder(items.length, writer.resumeFrom, 64, convert, take, (next) => writer.commit(next), options.signal, 4096);
    if (done < items.length) {
      await writer.close(true);
      finished = true;
      throw new InterruptedError(`interrupted after ${done} of ${items.length} images: run the same command again to continue from there`);
    }
    options.onProgress?.(items.length, items.length);
    const meta = await writer.finish();
    finished = true;
    return meta;
  } finally {
    if (!finished) await writer.close(false);
  }
}
