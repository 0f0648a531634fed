/**
 * The prepared data set on disk: a directory holding, for each split (train, val, and test where
 * there is one), its images as fixed-size records or JPEG blobs and its labels, plus the training
 * set's mean image and RGB PCA (§2, §4.1) and meta.json. meta.json is written last, by the rename
 * that puts the finished directory in place: a directory with it is complete.
 *
 *   meta.json              format, version, baseSize, store, classes, counts, pca, skipped files
 *   mean.f32               float32 [baseSize, baseSize, 3] HWC: the training images' mean
 *   <split>.labels         uint16 per image
 *   <split>.images         store raw: uint8 [count, baseSize, baseSize, 3], one record per image
 *   <split>.jpeg           store jpeg: the images' JPEG files back to back, and
 *   <split>.offsets        float64 [count + 1]: where each image's bytes start (and the end)
 *
 * Nothing is held in memory but the labels (2 bytes per image): the batch workers read the records
 * they need (cache-reader.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { RgbPca } from '../image/pca.js';

export const CACHE_FORMAT = 'alexnet-data-cache';
export const CACHE_VERSION = 4;
export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** How each prepared image is kept: decoded pixels (fast to read, 3*B*B bytes), or JPEG (a fraction of that, decoded by the batch workers). */
export type ImageStore = 'raw' | 'jpeg';
export const IMAGE_STORES: readonly ImageStore[] = ['raw', 'jpeg'];
export const DEFAULT_JPEG_QUALITY = 90;
/** Each image's label is a uint16 in `<split>.labels`: class ids 0..65535. */
export const MAX_CLASSES = 0x10000;

export interface CacheMeta {
  format: string;
  version: number;
  /** Side of the square images (NetworkSpec.baseSize). */
  baseSize: number;
  store: ImageStore;
  /** With store jpeg: the encoder's quality (1-100). */
  quality?: number;
  classes: string[];
  counts: Partial<Record<SplitName, number>>;
  pca: RgbPca;
  source: string;
  /** What the cache was made from (files, their sizes and times, the options): see prepare-folder.ts. */
  fingerprint?: string;
  /** The --val-split that made the val split of a folder without a val folder. */
  valSplit?: number;
  /** The largest image a folder's preparation decoded, in pixels. */
  maxPixels?: number;
  skipped: { path: string; reason: string }[];
  createdAt: string;
}

/** One split of images, in memory (tests) or on disk (a prepared cache). Labels are always in memory. */
export type Split = MemorySplit | DiskSplit;

export interface MemorySplit {
  count: number;
  /** count*baseSize*baseSize*3 uint8 (in a SharedArrayBuffer when workers read it). */
  images: Uint8Array;
  labels: Uint16Array;
}

export interface DiskSplit {
  count: number;
  labels: Uint16Array;
  store: ImageStore;
  /** The records (raw) or the JPEG blobs (jpeg). */
  file: string;
  /** store jpeg: the offsets file. */
  offsetsFile?: string;
  /** The images file's inode when the cache was read: a reader opening another file (the cache prepared again meanwhile) stops. */
  ino?: number;
}

export interface DataCache {
  dir: string;
  meta: CacheMeta;
  mean: Float32Array;
  splits: Partial<Record<SplitName, Split>>;
}

/** Where `alexnet train --data DIR` keeps the images of DIR prepared at `baseSize`, unless told otherwise. */
export const defaultCacheDir = (data: string, baseSize: number) => path.join(data, `.alexnet-cache-${baseSize}`);

export const splitFiles = (dir: string, name: SplitName, store: ImageStore) => ({
  images: path.join(dir, store === 'raw' ? `${name}.images` : `${name}.jpeg`),
  offsets: path.join(dir, `${name}.offsets`),
  labels: path.join(dir, `${name}.labels`),
});

/** The image bytes of a split as a user would count them on disk. */
export async function splitBytes(split: Split): Promise<number> {
  if ('images' in split) return split.images.byteLength;
  return (await fs.stat(split.file)).size;
}

async function readMetaFile(dir: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** What `dir` holds: no prepared data, data of this version, or data of another version. */
export async function cacheState(dir: string): Promise<'none' | 'current' | 'stale'> {
  const meta = await readMetaFile(dir);
  if (!meta || meta.format !== CACHE_FORMAT) return 'none';
  return meta.version === CACHE_VERSION ? 'current' : 'stale';
}

/** Whether `dir` holds prepared data of this version; a cache of another version is an error. */
export async function cacheExists(dir: string): Promise<boolean> {
  const state = await cacheState(dir);
  if (state === 'stale') throw new ConfigError(`${dir} holds data prepared by another version of alexnet (cache format now ${CACHE_VERSION}): prepare it again with 'alexnet data prepare'`);
  return state === 'current';
}

/** meta.json of a current cache, or a ConfigError saying what to do. */
export async function readCacheMeta(dir: string): Promise<CacheMeta> {
  const meta = (await readMetaFile(dir)) as CacheMeta | undefined;
  if (!meta) throw new ConfigError(`no prepared data in ${dir} (no readable meta.json): run 'alexnet data prepare'`);
  if (meta.format !== CACHE_FORMAT || meta.version !== CACHE_VERSION) {
    throw new ConfigError(`${dir} holds data prepared by another version of alexnet (cache format ${meta.version}, now ${CACHE_VERSION}): prepare it again with 'alexnet data prepare'`);
  }
  if (!IMAGE_STORES.includes(meta.store)) throw new ConfigError(`${dir}/meta.json names an unknown image store '${meta.store}'`);
  return meta;
}
