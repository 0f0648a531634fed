/**
 * `alexnet data prepare` and `alexnet data fashion-mnist`, and the data `alexnet train` reads:
 * argument handling and progress display. The preparation itself is in src/train.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { getPreset, type Preset } from '../config.js';
import { ConfigError } from '../errors.js';
import { splitBytes, type ImageStore } from '../train/cache-format.js';
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
      await interruptible((signal) =>
        prepareFolder({
          data: dataDir,
          out: cache,
          baseSize: preset.network.baseSize,
          store: defaultStore(preset),
          ...(valSplit !== undefined ? { valSplit } : {}),
          signal,
          warn: (m) => console.error(`warning: ${m}`),
          onProgress: (d, t) => bar.update(d, t),
        }),
      );
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

/** Ctrl-C or SIGTERM during `run(signal)`: the work stops after what it has in hand and can be resumed. */
async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (name: string) => {
    if (controller.signal.aborted) return;
    console.error(`\n${name}: saving what is done (run the same command again to go on)`);
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/** The store a preparation uses when none is asked for: JPEG where raw pixels would be large. */
export const defaultStore = (preset: Preset): ImageStore => (preset.name === 'paper' ? 'jpeg' : 'raw');

export async function dataPrepareCommand(dataDir: string, opts: { preset: string; valSplit?: number; out?: string; store?: ImageStore; quality?: number; workers?: number }): Promise<void> {
  const preset = getPreset(opts.preset);
  const out = opts.out ?? defaultCacheDir(dataDir, preset.network.baseSize);
  const store = opts.store ?? defaultStore(preset);
  if (opts.quality !== undefined && store !== 'jpeg') throw new ConfigError('--quality applies to --store jpeg only');
  const bar = progressBar('preparing images');
  const meta = await interruptible((signal) =>
    prepareFolder({
      data: dataDir,
      out,
      baseSize: preset.network.baseSize,
      store,
      ...(opts.quality !== undefined ? { quality: opts.quality } : {}),
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...(opts.valSplit !== undefined ? { valSplit: opts.valSplit } : {}),
      signal,
      warn: (m) => console.error(`warning: ${m}`),
      onProgress: (d, t) => bar.update(d, t),
    }),
  ).finally(() => bar.stop());
  const cache = await readDataCache(out);
  const bytes = (await Promise.all(Object.values(cache.splits).map((s) => splitBytes(s)))).reduce((a, b) => a + b, 0);
  console.log(`prepared ${out}: ${meta.classes.length} classes, ${JSON.stringify(meta.counts)} images (${meta.store}, ${(bytes / 1e6).toFixed(1)} MB), ${meta.skipped.length} skipped`);
}

export async function fashionMnistCommand(opts: { out: string; preset: string; val?: number; limit?: number; source?: string }): Promise<void> {
  const preset = getPreset(opts.preset);
  await ensureWritableDir(opts.out);
  const bar = progressBar('converting Fashion-MNIST');
  const meta = await interruptible((signal) => prepareFashionMnist({
    signal,
    out: opts.out,
    baseSize: preset.network.baseSize,
    ...(opts.val !== undefined ? { valCount: opts.val } : {}),
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    ...(opts.source ? { source: opts.source } : {}),
    onProgress: (d, t) => bar.update(d, t),
  })).finally(() => bar.stop());
  console.log(`prepared ${opts.out}: ${JSON.stringify(meta.counts)} images at ${meta.baseSize}x${meta.baseSize}`);
}
