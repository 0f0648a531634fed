/**
 * `DIR/train/<class>/...` and `DIR/val/<class>/...` (listed by folder-listing.ts; or a `valSplit`
 * fraction of each class of train when there is no val folder) into a data cache. Problems that
 * would waste a training run are refused before any decoding: a missing directory, a class folder
 * with no images, train and val class lists that differ. A corrupt image is warned about, counted
 * and skipped. The plan's fingerprint (every file's path, size and time, and the options) is kept
 * in meta.json, so a cache is used again only for the folder it was made from, unchanged.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, ImageTooLargeError, InterruptedError } from '../errors.js';
import { decodeToSquare, encodeRgb } from '../image/decode.js';
import { CACHE_VERSION, DEFAULT_JPEG_QUALITY, type CacheMeta, type ImageStore } from './cache-format.js';
import { CacheWriter } from './cache-writer.js';
import { nameSome } from './class-coverage.js';
import { listClassFolders, listingWarnings, type ListedFile } from './folder-listing.js';
import { inOrder } from './in-order.js';
import { flatValMessage } from './val-solution.js';

/** The largest image a preparation decodes, in pixels: the user's own photos, so far above the server's limit (a 100 MP camera, a phone's panorama); libvips streams them, so memory stays small. */
export const PREPARE_MAX_PIXELS = 250_000_000;

export interface FolderOptions {
  data: string;
  out: string;
  /** Side of the square images written (NetworkSpec.baseSize). */
  baseSize: number;
  /** Fraction of each class of train held out for validation when there is no val folder. */
  valSplit?: number;
  seed?: number;
  /** How the prepared images are kept (default raw). */
  store?: ImageStore;
  /** JPEG quality with store jpeg (default DEFAULT_JPEG_QUALITY). */
  quality?: number;
  /** Largest image decoded, in pixels (default PREPARE_MAX_PIXELS); larger ones are skipped. */
  maxPixels?: number;
  /** Images decoded at once (default: defaultDecoders()). */
  workers?: number;
  /** Aborting stops after the images in hand are written; the preparation resumes from there. */
  signal?: AbortSignal;
  warn?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
  /** The plan made by planFolder with these options (else it is made here). */
  plan?: FolderPlan;
}

/** What a preparation of a folder will read, and the fingerprint naming it (files, their sizes and times, the options). */
export interface FolderPlan {
  classes: string[];
  /** Validation images first: a validation split that cannot be read is found before the long part. */
  items: { path: string; label: number; split: 'train' | 'val' }[];
  /** The --val-split that made the split (absent with a val folder). */
  valSplit?: number;
  fingerprint: string;
  /** `folder:<real path>`: the folder, however it was typed. */
  source: string;
  /** What the listing left out, to say. */
  warnings: string[];
}

/** Check the layout and list the images, without decoding anything. */
export async function scanFolder(data: string, valSplit?: number): Promise<{ classes: string[]; train: ListedFile[]; val: ListedFile[]; warnings: string[] }> {
  const isDir = (p: string) => fs.stat(p).then((st) => st.isDirectory(), () => false);
  if ((await isDir(data)) && !(await isDir(path.join(data, 'train')))) {
    // Pointed at the train/ (or val/) folder itself: the folder above is the one to give.
    const above = path.dirname(path.resolve(data));
    if (['train', 'val', 'test'].includes(path.basename(path.resolve(data))) && (await isDir(path.join(above, 'train')))) {
      throw new ConfigError(`${data} is the ${path.basename(path.resolve(data))}/ folder of ${above}: give the folder that holds train/ (--data ${above})`);
    }
    throw new ConfigError(`${data} has no train/ folder: the layout is ${data}/train/<class>/<images> (and ${data}/val/<class>/<images>, or --val-split); move the class folders into ${data}/train/`);
  }
  const train = await listClassFolders(path.join(data, 'train'));
  const hasVal = await isDir(path.join(data, 'val'));
  if (hasVal) {
    const flat = await flatValMessage(path.join(data, 'val'));
    if (flat) throw new ConfigError(flat);
    const val = await listClassFolders(path.join(data, 'val'), 1);
    if (val.classes.join('\n') !== train.classes.join('\n')) {
      const inTrain = new Set(train.classes);
      const inVal = new Set(val.classes);
      const onlyTrain = train.classes.filter((c) => !inVal.has(c));
      const onlyVal = val.classes.filter((c) => !inTrain.has(c));
      // ImageNet has 1000 classes: name a few and count the rest, so the line stays a line.
      const some = (xs: string[]) => (xs.length === 0 ? 'none' : nameSome(xs));
      throw new ConfigError(`train and val class folders differ: only in train: ${some(onlyTrain)}; only in val: ${some(onlyVal)} (of ${train.classes.length} in train, ${val.classes.length} in val): give both the same class folders`);
    }
    const warnings = [...listingWarnings(train), ...listingWarnings(val)];
    if (valSplit !== undefined) warnings.push(`--val-split ${valSplit} is not used: ${data} has a val folder`);
    return { classes: train.classes, train: train.files, val: val.files, warnings };
  }
  const fraction = valSplit ?? 0;
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError(`${data} has no val folder: add one, or pass --val-split (e.g. 0.1)`);
  return { classes: train.classes, train: train.files, val: [], warnings: listingWarnings(train) };
}

/**
 * Hold out `fraction` of each class (at least one image, never its last): a class split on its
 * own keeps its share of training images, where one draw over all images can take a small class
 * whole. Which images: those whose paths (below `root`) hash lowest with the seed, so the same
 * files are held out on every run, and adding or removing an image moves at most one other
 * across (one draw over the list would reshuffle them all).
 */
export function stratifiedSplit(files: readonly ListedFile[], fraction: number, seed: number, root: string): { train: ListedFile[]; val: ListedFile[] } {
  const byClass = new Map<number, ListedFile[]>();
  for (const f of files) {
    const own = byClass.get(f.label);
    if (own) own.push(f);
    else byClass.set(f.label, [f]);
  }
  const rank = (f: ListedFile) => createHash('sha256').update(`${seed}\0${path.relative(root, f.path).split(path.sep).join('/').normalize('NFC')}`).digest('hex');
  const train: ListedFile[] = [];
  const val: ListedFile[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const own = byClass.get(label)!;
    const nVal = own.length < 2 ? 0 : Math.min(own.length - 1, Math.max(1, Math.round(own.length * fraction)));
    const ranks = new Map(own.map((f) => [f, rank(f)]));
    const held = new Set([...own].sort((a, b) => (ranks.get(a)! < ranks.get(b)! ? -1 : 1)).slice(0, nVal));
    // Each part keeps the listing's (path) order.
    for (const f of own) (held.has(f) ? val : train).push(f);
  }
  return { train, val };
}

/** `size:mtime` of each file, a bounded number of stats at a time; '' for a file gone (the decode reports it). */
async function fileStamps(paths: string[]): Promise<string[]> {
  const out = new Array<string>(paths.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < paths.length; i = next++) {
      const st = await fs.stat(paths[i]!).catch(() => undefined);
      out[i] = st ? `${st.size}:${st.mtimeMs}` : '';
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return out;
}

/** The prepared images may not go in train/ or val/ (but in a hidden folder there, which the listing skips): the next listing would read them as a class folder of no images. */
async function refuseOutInside(out: string, data: string): Promise<void> {
  const real = async (p: string): Promise<string> => {
    const resolved = path.resolve(p);
    const above = path.dirname(resolved);
    return fs.realpath(resolved).catch(async () => (above === resolved ? resolved : path.join(await real(above), path.basename(resolved))));
  };
  const target = await real(out);
  for (const split of ['train', 'val']) {
    const dir = await real(path.join(data, split));
    const rel = path.relative(dir, target);
    const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    if (inside && !rel.split(path.sep).some((name) => name.startsWith('.'))) {
      throw new ConfigError(`the prepared images cannot go in ${out}, inside ${path.join(data, split)}: they would be read as a class folder; choose a place outside it (the default is ${path.join(data, '.alexnet-cache-<base size>')})`);
    }
  }
}

/** List the folder and fingerprint what a preparation with these options would make (a stat per image, no decoding). */
export async function planFolder(options: Omit<FolderOptions, 'plan'>): Promise<FolderPlan> {
  const { data, baseSize } = options;
  const store = options.store ?? 'raw';
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  const maxPixels = options.maxPixels ?? PREPARE_MAX_PIXELS;
  const scan = await scanFolder(data, options.valSplit);
  await refuseOutInside(options.out, data);
  const warnings = [...scan.warnings];
  let { train, val } = scan;
  const split = val.length === 0;
  if (split) {
    ({ train, val } = stratifiedSplit(train, options.valSplit!, options.seed ?? 1, path.join(data, 'train')));
    const validated = new Set(val.map((f) => f.label));
    const alone = scan.classes.filter((_, c) => !validated.has(c));
    if (alone.length > 0) warnings.push(`class(es) ${alone.slice(0, 5).join(', ')}${alone.length > 5 ? ` (${alone.length} in all)` : ''} have one image: it is trained on, and never validated`);
  }
  const items = [...val.map((f) => ({ ...f, split: 'val' as const })), ...train.map((f) => ({ ...f, split: 'train' as const }))];
  // The folder by its real path, and its files below it: the same folder typed another way
  // (relative, absolute, through a link, from another directory) is the same preparation.
  const root = await fs.realpath(data).catch(() => path.resolve(data));
  const source = `folder:${root}`;
  const fingerprint = createHash('sha256').update(JSON.stringify({ version: CACHE_VERSION, baseSize, store, quality, maxPixels, source, classes: scan.classes }));
  // Each file's size and modification time too: a cache (or a partial one) is used only for the same files, unchanged.
  const stamps = await fileStamps(items.map((it) => it.path));
  items.forEach((it, i) => fingerprint.update(`${it.split}\t${it.label}\t${path.relative(data, it.path)}\t${stamps[i]}\n`));
  return { classes: scan.classes, items, ...(split ? { valSplit: options.valSplit! } : {}), fingerprint: fingerprint.digest('hex'), source, warnings };
}

export async function prepareFolder(options: FolderOptions): Promise<CacheMeta> {
  const { baseSize } = options;
  const store = options.store ?? 'raw';
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  const maxPixels = options.maxPixels ?? PREPARE_MAX_PIXELS;
  const warn = options.warn ?? (() => {});
  const plan = options.plan ?? (await planFolder(options));
  for (const w of plan.warnings) warn(w);
  const { items } = plan;
  const nVal = items.filter((it) => it.split === 'val').length;
  const writer = await CacheWriter.open(options.out, {
    baseSize,
    store,
    ...(store === 'jpeg' ? { quality } : {}),
    classes: plan.classes,
    source: plan.source,
    splits: ['train', 'val'],
    fingerprint: plan.fingerprint,
    ...(plan.valSplit !== undefined ? { valSplit: plan.valSplit } : {}),
    maxPixels,
  });
  if (writer.resumeFrom >= items.length) warn(`finishing the interrupted preparation in ${options.out}.partial (all ${items.length} images were done)`);
  else if (writer.resumeFrom > 0) warn(`resuming the interrupted preparation in ${options.out}.partial at image ${writer.resumeFrom + 1} of ${items.length}`);
  if (writer.restartedAfter > 0) warn(`the interrupted preparation in ${options.out}.partial (${writer.restartedAfter} images done) was of other files or options than now: starting over`);
  let finished = false;
  try {
    const decode = async (it: (typeof items)[number]): Promise<{ pixels: Uint8Array; encoded?: Uint8Array } | { reason: string }> => {
      try {
        const pixels = (await decodeToSquare(await fs.readFile(it.path), { size: baseSize, maxPixels })).data;
        return store === 'jpeg' ? { pixels, encoded: await encodeRgb(pixels, baseSize, baseSize, 'jpeg', quality) } : { pixels };
      } catch (e) {
        const reason = (e as Error).message.split('\n')[0]!;
        return { reason: e instanceof ImageTooLargeError ? `${reason} (raise it with --max-pixels)` : reason };
      }
    };
    const done = await inOrder(items.length, writer.resumeFrom, options.workers ?? defaultDecoders(), (i) => decode(items[i]!), async (i, r) => {
      const it = items[i]!;
      if ('reason' in r) {
        warn(`skipping ${it.path}: ${r.reason}`);
        writer.skip(it.path, r.reason);
      } else {
        await writer.append(it.split, it.label, r.pixels, r.encoded);
      }
      options.onProgress?.(i + 1, items.length);
      // The validation images come first: none readable is said before the training images are decoded.
      if (i === nVal - 1 && writer.count('val') === 0) {
        throw new ConfigError(`no readable validation image: all ${nVal} were skipped (see the warnings above)${plan.valSplit === undefined ? '; fix them, or move val/ away and pass --val-split' : ''}`);
      }
    }, (next) => writer.commit(next), options.signal);
    if (done < items.length) {
      await writer.close(true);
      finished = true;
      throw new InterruptedError(`interrupted after ${done} of ${items.length} images: run the same command again to continue from there (the work so far is in ${options.out}.partial)`);
    }
    const meta = await writer.finish();
    finished = true;
    if (meta.skipped.length > 0) warn(`${meta.skipped.length} of ${items.length} images were skipped, unreadable or over --max-pixels (listed with the reason in ${options.out}/meta.json)`);
    return meta;
  } finally {
    // A failure other than an interrupt leaves nothing behind (a disk that filled up above all).
    if (!finished) await writer.close(false);
  }
}

/** Two decodes per core: a finished decode waits for the main thread to start the next, so one per core leaves cores idle (bench/RESULTS.md, bench:data). */
export function defaultDecoders(): number {
  return 2 * os.availableParallelism();
}
