/**
 * `alexnet data prepare` and `alexnet data fashion-mnist`, and the data `alexnet train` reads:
 * argument handling and progress display. The preparation itself is in src/train.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { getPreset, type Preset } from '../config.js';
import { ConfigError } from '../errors.js';
import { cacheExists, cacheState, readDataCache, type DataCache } from '../train/data-cache.js';
import { prepareFashionMnist } from '../train/fashion-mnist.js';
import { prepareFolder } from '../train/prepare-folder.js';
import { progressBar } from './progress.js';

export const defaultCacheDir = (data: string, baseSize: number) => path.join(data, `.alexnet-cache-${baseSize}`);

/**
 * The prepared data for `dataDir`: the directory itself when it is a prepared cache, else the
 * cache beside its images, prepared now if it does not exist yet.
 */
export async function loadOrPrepare(dataDir: string, preset: Preset, valSplit?: number): Promise<DataCache> {
  if (await cacheExists(dataDir)) return readDataCache(dataDir);
  const cache = defaultCacheDir(dataDir, preset.network.baseSize);
  const state = await cacheState(cache);
  if (state !== 'current') {
    // This cache is derived from DIR by us, so an outdated one is simply made again.
    if (state === 'stale') console.error(`${cache} was prepared by another version of alexnet: preparing it again`);
    const bar = progressBar('preparing images');
    try {
      await prepareFolder({
        data: dataDir,
        out: cache,
        baseSize: preset.network.baseSize,
        ...(valSplit !== undefined ? { valSplit } : {}),
        warn: (m) => console.error(`warning: ${m}`),
        onProgress: (d, t) => bar.update(d, t),
      });
    } finally {
      bar.stop();
    }
  }
  return readDataCache(cache);
}

export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    const probe = path.join(dir, `.write-test-${process.pid}`);
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (e) {
    throw new ConfigError(`output directory ${dir} is not writable: ${(e as Error).message}`);
  }
}

export async function dataPrepareCommand(dataDir: string, opts: { preset: string; valSplit?: number; out?: string }): Promise<void> {
  const preset = getPreset(opts.preset);
  const out = opts.out ?? defaultCacheDir(dataDir, preset.network.baseSize);
  const bar = progressBar('preparing images');
  const meta = await prepareFolder({
    data: dataDir,
    out,
    baseSize: preset.network.baseSize,
    ...(opts.valSplit !== undefined ? { valSplit: opts.valSplit } : {}),
    warn: (m) => console.error(`warning: ${m}`),
    onProgress: (d, t) => bar.update(d, t),
  }).finally(() => bar.stop());
  console.log(`prepared ${out}: ${meta.classes.length} classes, ${JSON.stringify(meta.counts)} images, ${meta.skipped.length} skipped`);
}

export async function fashionMnistCommand(opts: { out: string; preset: string; val?: number; limit?: number; source?: string }): Promise<void> {
  const preset = getPreset(opts.preset);
  await ensureWritableDir(opts.out);
  const bar = progressBar('converting Fashion-MNIST');
  const meta = await prepareFashionMnist({
    out: opts.out,
    baseSize: preset.network.baseSize,
    ...(opts.val !== undefined ? { valCount: opts.val } : {}),
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    ...(opts.source ? { source: opts.source } : {}),
    onProgress: (d, t) => bar.update(d, t),
  }).finally(() => bar.stop());
  console.log(`prepared ${opts.out}: ${JSON.stringify(meta.counts)} images at ${meta.baseSize}x${meta.baseSize}`);
}
