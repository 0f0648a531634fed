/**
 * The prepared data set: every image decoded once into baseSize x baseSize x 3 uint8 (shorter side to
 * the base size, center square, §2), the class list, the training set's mean image and the
 * eigen-decomposition of its RGB covariance (§4.1). Epochs read this, not the image files.
 *
 * On disk, a directory: meta.json, <split>.images (uint8, N*B*B*3), <split>.labels (uint16, N)
 * for each split (train, val, and test where there is one), mean.f32 (float32, B*B*3).
 * Images are loaded into SharedArrayBuffers so worker threads read them without copies.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { writeAtomic } from '../util/atomic-file.js';
import { ImageStatistics, rgbPca, type RgbPca } from '../image/pca.js';

export const CACHE_FORMAT = 'alexnet-data-cache';
export const CACHE_VERSION = 3;
export type SplitName = 'train' | 'val' | 'test';

export interface Split {
  count: number;
  /** count*baseSize*baseSize*3 uint8, in a SharedArrayBuffer. */
  images: Uint8Array;
  /** count class indices. */
  labels: Uint16Array;
}

export interface CacheMeta {
  format: string;
  version: number;
  /** Side of the square images (NetworkSpec.baseSize). Caches written before the rename hold it as `base`: read either. */
  baseSize: number;
  classes: string[];
  counts: Partial<Record<SplitName, number>>;
  pca: RgbPca;
  source: string;
  skipped: { path: string; reason: string }[];
  createdAt: string;
}

export interface DataCache {
  dir: string;
  meta: CacheMeta;
  mean: Float32Array;
  splits: Partial<Record<SplitName, Split>>;
}

/** A split being filled image by image. */
export class SplitWriter {
  readonly images: Uint8Array;
  readonly labels: Uint16Array;
  private n = 0;

  constructor(readonly capacity: number, readonly baseSize: number) {
    this.images = new Uint8Array(capacity * baseSize * baseSize * 3);
    this.labels = new Uint16Array(capacity);
  }

  add(image: Uint8Array, label: number): void {
    if (this.n >= this.capacity) throw new Error('split is full');
    this.images.set(image, this.n * image.length);
    this.labels[this.n++] = label;
  }

  get count(): number {
    return this.n;
  }
}

/** Write a cache: statistics (mean image, RGB PCA) from the training split only. */
export async function writeDataCache(
  dir: string,
  baseSize: number,
  classes: string[],
  splits: Partial<Record<SplitName, SplitWriter>>,
  source: string,
  skipped: { path: string; reason: string }[] = [],
): Promise<CacheMeta> {
  const train = splits.train;
  if (!train || train.count === 0) throw new ConfigError('the training split is empty');
  const stats = new ImageStatistics(baseSize);
  const px = baseSize * baseSize * 3;
  for (let i = 0; i < train.count; i++) stats.add(train.images.subarray(i * px, (i + 1) * px));
  await fs.mkdir(dir, { recursive: true });
  const counts: Partial<Record<SplitName, number>> = {};
  for (const [name, s] of Object.entries(splits) as [SplitName, SplitWriter][]) {
    counts[name] = s.count;
    await writeAtomic(path.join(dir, `${name}.images`), s.images.subarray(0, s.count * px));
    await writeAtomic(path.join(dir, `${name}.labels`), new Uint8Array(s.labels.buffer, 0, s.count * 2));
  }
  const mean = stats.meanImage();
  await writeAtomic(path.join(dir, 'mean.f32'), new Uint8Array(mean.buffer));
  const meta: CacheMeta = {
    format: CACHE_FORMAT,
    version: CACHE_VERSION,
    baseSize,
    classes,
    counts,
    pca: rgbPca(stats.covariance()),
    source,
    skipped,
    createdAt: new Date().toISOString(),
  };
  // meta.json last: its presence marks a complete cache.
  await writeAtomic(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 1));
  return meta;
}

/** What `dir` holds: no prepared data, data of this version, or data of another version. */
export async function cacheState(dir: string): Promise<'none' | 'current' | 'stale'> {
  let meta: CacheMeta;
  try {
    meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as CacheMeta;
  } catch {
    return 'none';
  }
  if (meta.format !== CACHE_FORMAT) return 'none';
  return meta.version === CACHE_VERSION ? 'current' : 'stale';
}

/** Whether `dir` holds prepared data of this version; a cache of another version is an error. */
export async function cacheExists(dir: string): Promise<boolean> {
  const state = await cacheState(dir);
  if (state === 'stale') throw new ConfigError(`${dir} holds data prepared by another version of alexnet (cache format now ${CACHE_VERSION}): prepare it again`);
  return state === 'current';
}

async function readShared(file: string, expectedBytes: number): Promise<ArrayBuffer | SharedArrayBuffer> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size !== expectedBytes) throw new ConfigError(`data cache file ${file} has ${size} bytes, expected ${expectedBytes}: prepare the data again`);
    const shared = new SharedArrayBuffer(size);
    const view = new Uint8Array(shared);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(view, read, Math.min(1 << 26, size - read), read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return shared;
  } finally {
    await handle.close();
  }
}

/** meta.json as written by this version or by one before `base` was renamed `baseSize` (same format version). */
function parseMeta(text: string): CacheMeta {
  const meta = JSON.parse(text) as CacheMeta & { base?: number };
  if (meta.baseSize === undefined && meta.base !== undefined) {
    const { base, ...rest } = meta;
    return { ...rest, baseSize: base };
  }
  return meta;
}

export async function readDataCache(dir: string): Promise<DataCache> {
  let meta: CacheMeta;
  try {
    meta = parseMeta(await fs.readFile(path.join(dir, 'meta.json'), 'utf8'));
  } catch (e) {
    throw new ConfigError(`no prepared data in ${dir} (${(e as Error).message.split('\n')[0]}): run 'alexnet data prepare'`);
  }
  if (meta.format !== CACHE_FORMAT || meta.version !== CACHE_VERSION) {
    throw new ConfigError(`${dir} holds data prepared by another version: prepare it again`);
  }
  const px = meta.baseSize * meta.baseSize * 3;
  const splits: Partial<Record<SplitName, Split>> = {};
  for (const [name, count] of Object.entries(meta.counts) as [SplitName, number][]) {
    const images = new Uint8Array(await readShared(path.join(dir, `${name}.images`), count * px));
    const labels = new Uint16Array(await readShared(path.join(dir, `${name}.labels`), count * 2));
    splits[name] = { count, images, labels };
  }
  const mean = new Float32Array(await readShared(path.join(dir, 'mean.f32'), px * 4));
  return { dir, meta, mean, splits };
}
