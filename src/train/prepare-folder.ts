/**
 * `DIR/train/<class>/*.{jpg,jpeg,png,webp}` and `DIR/val/<class>/...` (or a `valSplit` fraction
 * of train when there is no val folder) into a data cache. Problems that would waste a training
 * run are refused before any decoding: a missing directory, a class folder with no images,
 * train and val class lists that differ. A corrupt image is warned about, counted and skipped.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, InterruptedError } from '../errors.js';
import { decodeToSquare, encodeRgb } from '../image/decode.js';
import { Rng } from '../util/rng.js';
import { CACHE_VERSION, DEFAULT_JPEG_QUALITY, type CacheMeta, type ImageStore } from './cache-format.js';
import { CacheWriter } from './cache-writer.js';
import { inOrder } from './in-order.js';

const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

export interface FolderOptions {
  data: string;
  out: string;
  /** Side of the square images written (NetworkSpec.baseSize). */
  baseSize: number;
  /** Fraction of train held out for validation when there is no val folder. */
  valSplit?: number;
  seed?: number;
  /** How the prepared images are kept (default raw). */
  store?: ImageStore;
  /** JPEG quality with store jpeg (default DEFAULT_JPEG_QUALITY). */
  quality?: number;
  /** Images decoded at once (default: defaultDecoders()). */
  workers?: number;
  /** Aborting stops after the images in hand are written; the preparation resumes from there. */
  signal?: AbortSignal;
  warn?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

interface Listing {
  classes: string[];
  files: { path: string; label: number }[];
}

async function listSplit(dir: string): Promise<Listing> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new ConfigError(`cannot read ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  const classes = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (classes.length < 2) throw new ConfigError(`${dir} must hold one folder per class (at least 2), found ${classes.length}`);
  const files: Listing['files'] = [];
  for (const [label, name] of classes.entries()) {
    const images = (await fs.readdir(path.join(dir, name))).filter((f) => IMAGE_EXT.test(f)).sort();
    if (images.length === 0) throw new ConfigError(`class folder ${path.join(dir, name)} has no .jpg, .jpeg, .png or .webp images`);
    for (const f of images) files.push({ path: path.join(dir, name, f), label });
  }
  return { classes, files };
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

/** Check the layout and list the images, without decoding anything. */
export async function scanFolder(data: string, valSplit?: number): Promise<{ classes: string[]; train: Listing['files']; val: Listing['files'] }> {
  const train = await listSplit(path.join(data, 'train'));
  let hasVal = false;
  try {
    hasVal = (await fs.stat(path.join(data, 'val'))).isDirectory();
  } catch {
    hasVal = false;
  }
  if (hasVal) {
    const val = await listSplit(path.join(data, 'val'));
    if (val.classes.join('\n') !== train.classes.join('\n')) {
      const onlyTrain = train.classes.filter((c) => !val.classes.includes(c));
      const onlyVal = val.classes.filter((c) => !train.classes.includes(c));
      throw new ConfigError(`train and val class folders differ: only in train [${onlyTrain.join(', ')}], only in val [${onlyVal.join(', ')}]`);
    }
    return { classes: train.classes, train: train.files, val: val.files };
  }
  const fraction = valSplit ?? 0;
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError(`${data} has no val folder: add one, or pass --val-split (e.g. 0.1)`);
  return { classes: train.classes, train: train.files, val: [] };
}

export async function prepareFolder(options: FolderOptions): Promise<CacheMeta> {
  const { data, baseSize } = options;
  const store = options.store ?? 'raw';
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  const warn = options.warn ?? (() => {});
  const scan = await scanFolder(data, options.valSplit);
  let { train, val } = scan;
  if (val.length === 0) {
    const rng = new Rng(options.seed ?? 1);
    const shuffled = [...train];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const nVal = Math.max(1, Math.round(shuffled.length * options.valSplit!));
    val = shuffled.slice(0, nVal);
    train = shuffled.slice(nVal);
  }
  const items = [...train.map((f) => ({ ...f, split: 'train' as const })), ...val.map((f) => ({ ...f, split: 'val' as const }))];
  const source = `folder:${path.resolve(data)}`;
  const fingerprint = createHash('sha256').update(JSON.stringify({ version: CACHE_VERSION, baseSize, store, quality, source, classes: scan.classes }));
  // Each file's size and modification time too: a partial preparation resumes only over the same files, unchanged.
  const stamps = await fileStamps(items.map((it) => it.path));
  items.forEach((it, i) => fingerprint.update(`${it.split}\t${it.label}\t${it.path}\t${stamps[i]}\n`));
  const writer = await CacheWriter.open(options.out, {
    baseSize,
    store,
    ...(store === 'jpeg' ? { quality } : {}),
    classes: scan.classes,
    source,
    splits: ['train', 'val'],
    fingerprint: fingerprint.digest('hex'),
  });
  if (writer.resumeFrom > 0) warn(`resuming the interrupted preparation in ${options.out}.partial at image ${writer.resumeFrom + 1} of ${items.length}`);
  let finished = false;
  try {
    const decode = async (it: (typeof items)[number]): Promise<{ pixels: Uint8Array; encoded?: Uint8Array } | { reason: string }> => {
      try {
        const pixels = (await decodeToSquare(await fs.readFile(it.path), { size: baseSize })).data;
        return store === 'jpeg' ? { pixels, encoded: await encodeRgb(pixels, baseSize, baseSize, 'jpeg', quality) } : { pixels };
      } catch (e) {
        return { reason: (e as Error).message.split('\n')[0]! };
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
    }, (next) => writer.commit(next), options.signal);
    if (done < items.length) {
      await writer.close(true);
      finished = true;
      throw new InterruptedError(`interrupted after ${done} of ${items.length} images: run the same command again to continue from there (the work so far is in ${options.out}.partial)`);
    }
    if (writer.count('val') === 0) throw new ConfigError('no readable validation image');
    if (writer.skipped.length > 0) warn(`${writer.skipped.length} of ${items.length} images could not be read and were skipped (listed in ${options.out}/meta.json)`);
    const meta = await writer.finish();
    finished = true;
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
