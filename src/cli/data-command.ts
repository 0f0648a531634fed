/**
 * `alexnet data prepare` and `alexnet data fashion-mnist`, and the data `alexnet train` reads:
 * argument handling and progress display. The preparation itself is in src/train.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { getPreset, type Preset } from '../config.js';
import { ConfigError } from '../errors.js';
import { LockHeldError, waitForLock } from '../util/dir-lock.js';
import { plural } from '../util/plural.js';
import { defaultCacheDir, readCacheMeta, splitBytes, type CacheMeta, type ImageStore } from '../train/cache-format.js';
import { classCoverage, nameSome } from '../train/class-coverage.js';
import { cacheExists, cacheState, readDataCache, type DataCache } from '../train/data-cache.js';
import { prepareFashionMnist } from '../train/fashion-mnist.js';
import { planFolder, prepareFolder, PREPARE_MAX_PIXELS } from '../train/prepare-folder.js';
import { progressBar } from './progress.js';

export interface PrepareChoices {
  /** --val-split: the fraction of each class held out when DIR has no val/ (default: the cache's). */
  valSplit?: number;
  /** --cache: where DIR's prepared images go (default DIR/.alexnet-cache-<base>). */
  cacheDir?: string;
  /** --max-pixels: the largest image decoded (default: the cache's, else PREPARE_MAX_PIXELS). */
  maxPixels?: number;
}

/**
 * The prepared data for `dataDir`: the directory itself when it is a prepared cache, else the
 * cache of its images, used only if it was made from these files as they are now (and the options
 * given), else prepared now. A class with no training image is refused either way.
 */
export async function loadOrPrepare(dataDir: string, preset: Preset, choices: PrepareChoices = {}): Promise<DataCache> {
  const prepared = await cacheExists(dataDir);
  const data = prepared ? await readDataCache(dataDir) : await folderCache(dataDir, preset, choices);
  if (prepared) {
    // Options about preparing a folder do nothing to data already prepared: say so rather than ignore them.
    const moot = [
      ...(choices.cacheDir !== undefined ? ['--cache'] : []),
      ...(choices.maxPixels !== undefined ? ['--max-pixels'] : []),
      ...(choices.valSplit !== undefined && choices.valSplit !== data.meta.valSplit ? ['--val-split'] : []),
    ];
    if (moot.length > 0) console.error(`warning: ${moot.join(', ')} not used: ${dataDir} is already prepared (${data.meta.valSplit !== undefined ? `with --val-split ${data.meta.valSplit}` : 'with its val folder'}); prepare the photo folder again to change them`);
  }
  const { noTrain, noVal } = classCoverage(data);
  if (noTrain.length > 0) {
    throw new ConfigError(`class(es) ${nameSome(noTrain)} of ${dataDir} have no readable training image (every one was skipped: see ${data.dir}/meta.json): add images that can be read, or remove the class folder`);
  }
  if (noVal.length > 0) console.error(`warning: class(es) ${nameSome(noVal)} have no validation image: their accuracy is not measured`);
  return data;
}

async function folderCache(dataDir: string, preset: Preset, choices: PrepareChoices): Promise<DataCache> {
  // Another process preparing this very cache (a second train on the same folder) makes what this
  // one would: wait for it and use its cache, rather than be refused; also when both began at once.
  for (;;) {
    try {
      return await folderCacheOnce(dataDir, preset, choices);
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
    }
  }
}

async function folderCacheOnce(dataDir: string, preset: Preset, choices: PrepareChoices): Promise<DataCache> {
  const { baseSize } = preset.network;
  const cache = choices.cacheDir ?? defaultCacheDir(dataDir, baseSize);
  await waitForLock(`${cache}.lock`, (h) => console.error(`waiting for process ${h.pid} to finish preparing ${cache}`));
  const state = await cacheState(cache);
  if (choices.cacheDir !== undefined && state === 'none' && (await fs.readdir(cache).catch(() => [])).length > 0) {
    throw new ConfigError(`--cache ${cache} exists and is not a prepared data cache: give an empty or new folder`);
  }
  const made = state === 'current' ? await readCacheMeta(cache) : undefined;
  // Checked with the cache's own store and options: only the files and what was typed can make it out of date.
  const options = {
    data: dataDir,
    out: cache,
    baseSize,
    store: made?.store ?? defaultStore(preset),
    ...(made?.quality !== undefined ? { quality: made.quality } : {}),
    ...(choices.valSplit ?? made?.valSplit) !== undefined ? { valSplit: choices.valSplit ?? made?.valSplit } : {},
    ...(choices.maxPixels ?? made?.maxPixels) !== undefined ? { maxPixels: choices.maxPixels ?? made?.maxPixels } : {},
  };
  const plan = await planFolder(options);
  if (made && made.fingerprint === plan.fingerprint) {
    // Reused as it was made: what it was made with, when not the default, is said (it still holds).
    for (const w of plan.warnings.filter((x) => x.startsWith('--val-split'))) console.error(`warning: ${w}`);
    if (made.maxPixels !== undefined && made.maxPixels !== PREPARE_MAX_PIXELS && choices.maxPixels === undefined) {
      console.error(`using ${cache}, prepared with --max-pixels ${made.maxPixels} (${plural(made.skipped.length, 'image')} skipped); give --max-pixels to prepare it otherwise`);
    }
    return readDataCache(cache);
  }
  if (state === 'stale') console.error(`${cache} was prepared by another version of alexnet: preparing it again`);
  if (made && made.fingerprint === undefined) console.error(`${cache} was prepared by an alexnet that did not record its files: preparing it again`);
  if (made?.fingerprint !== undefined) {
    const before = Object.values(made.counts).reduce((a, b) => a + (b ?? 0), 0) + made.skipped.length;
    const why = [
      ...(choices.valSplit !== undefined && choices.valSplit !== made.valSplit ? [`--val-split ${choices.valSplit} (it was made with ${made.valSplit ?? 'the val folder'})`] : []),
      ...(choices.maxPixels !== undefined && choices.maxPixels !== made.maxPixels ? [`--max-pixels ${choices.maxPixels} (it was made with ${made.maxPixels ?? 'another'})`] : []),
    ];
    console.error(`${cache} was prepared from other files or options than now: ${why.length > 0 ? why.join(', ') : `${dataDir}'s files changed (${made.classes.length} classes, ${before} images then; ${plan.classes.length} classes, ${plan.items.length} images now)`}; preparing it again`);
  }
  await ensureCacheWritable(cache, dataDir);
  const bar = progressBar('preparing images');
  try {
    await interruptible((signal) =>
      prepareFolder({ ...options, plan, signal, warn: (m) => console.error(`warning: ${m}`), onProgress: (d, t) => bar.update(d, t) }),
    );
  } catch (e) {
    // The writer's own message names data prepare's --out; train's option for the cache is --cache (its --out is the run).
    if (((e as Error).cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOSPC') throw e;
    throw new ConfigError(`no space left on the device of ${path.dirname(path.resolve(cache))} while preparing ${cache}: free some space, or pass --cache DIR to keep the prepared images on another disk (nothing was kept; an earlier cache there is untouched)`, { cause: e });
  } finally {
    bar.stop();
  }
  return readDataCache(cache);
}

/** The cache's folder must be writable; a read-only photo folder gets a way out. */
async function ensureCacheWritable(cache: string, dataDir: string): Promise<void> {
  const parent = path.dirname(path.resolve(cache));
  const probe = path.join(parent, `.alexnet-write-test-${process.pid}`);
  try {
    await fs.mkdir(parent, { recursive: true });
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ConfigError(`cannot write the prepared images to ${cache} (${code}${code === 'EROFS' || code === 'ENOENT' ? ': a read-only folder?' : ''}): pass --cache DIR to keep them elsewhere, or run 'alexnet data prepare ${dataDir} --out DIR' and train with --data DIR`);
  }
}

/** Make `dir` if needed and check it takes files; true when it was made here. */
export async function ensureWritableDir(dir: string): Promise<boolean> {
  try {
    const made = (await fs.mkdir(dir, { recursive: true })) !== undefined;
    const probe = path.join(dir, `.write-test-${process.pid}`);
    await fs.writeFile(probe, '');
    await fs.rm(probe);
    return made;
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

export async function dataPrepareCommand(dataDir: string, opts: { preset: string; valSplit?: number; out?: string; store?: ImageStore; quality?: number; workers?: number; maxPixels?: number }): Promise<void> {
  const preset = getPreset(opts.preset);
  const out = opts.out ?? defaultCacheDir(dataDir, preset.network.baseSize);
  const store = opts.store ?? defaultStore(preset);
  if (opts.quality !== undefined && store !== 'jpeg') throw new ConfigError('--quality applies to --store jpeg only');
  const options = {
    data: dataDir,
    out,
    baseSize: preset.network.baseSize,
    store,
    ...(opts.quality !== undefined ? { quality: opts.quality } : {}),
    ...(opts.valSplit !== undefined ? { valSplit: opts.valSplit } : {}),
    ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}),
  };
  const plan = await planFolder(options);
  // The same command run again after it finished: the cache it made holds what another run would write.
  const made = (await cacheState(out)) === 'current' ? await readCacheMeta(out) : undefined;
  let meta: CacheMeta;
  if (made?.fingerprint === plan.fingerprint) {
    for (const w of plan.warnings) console.error(`warning: ${w}`);
    console.error(`${out} is already prepared from these files, unchanged, with these options: nothing to do (remove it to prepare it again)`);
    meta = made;
  } else {
    const bar = progressBar('preparing images');
    meta = await interruptible((signal) =>
      prepareFolder({
        ...options,
        plan,
        ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        signal,
        warn: (m) => console.error(`warning: ${m}`),
        onProgress: (d, t) => bar.update(d, t),
      }),
    ).finally(() => bar.stop());
  }
  const cache = await readDataCache(out);
  const { noTrain, noVal } = classCoverage(cache);
  if (noTrain.length > 0) console.error(`warning: class(es) ${nameSome(noTrain)} have no readable training image: train will refuse this data until they do`);
  if (noVal.length > 0) console.error(`warning: class(es) ${nameSome(noVal)} have no validation image`);
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
