/**
 * `DIR/train/<class>/*.{jpg,jpeg,png,webp}` and `DIR/val/<class>/...` (or a `valSplit` fraction
 * of train when there is no val folder) into a data cache. Problems that would waste a training
 * run are refused before any decoding: a missing directory, a class folder with no images,
 * train and val class lists that differ. A corrupt image is warned about, counted and skipped.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { decodeToSquare } from '../image/decode.js';
import { Rng } from '../util/rng.js';
import { SplitWriter, writeDataCache, type CacheMeta } from './data-cache.js';

const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

export interface FolderOptions {
  data: string;
  out: string;
  /** Side of the square images written (NetworkSpec.baseSize). */
  baseSize: number;
  /** Fraction of train held out for validation when there is no val folder. */
  valSplit?: number;
  seed?: number;
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
  const skipped: { path: string; reason: string }[] = [];
  const total = train.length + val.length;
  let done = 0;
  const fill = async (files: typeof train): Promise<SplitWriter> => {
    const writer = new SplitWriter(files.length, baseSize);
    const CHUNK = 16;
    for (let k = 0; k < files.length; k += CHUNK) {
      const chunk = files.slice(k, k + CHUNK);
      const decoded = await Promise.all(
        chunk.map(async (f) => {
          try {
            return await decodeToSquare(await fs.readFile(f.path), { size: baseSize });
          } catch (e) {
            const reason = (e as Error).message;
            warn(`skipping ${f.path}: ${reason}`);
            skipped.push({ path: f.path, reason });
            return null;
          }
        }),
      );
      decoded.forEach((img, j) => img && writer.add(img.data, chunk[j]!.label));
      done += chunk.length;
      options.onProgress?.(done, total);
    }
    return writer;
  };
  const trainSplit = await fill(train);
  const valSplit = await fill(val);
  if (valSplit.count === 0) throw new ConfigError('no readable validation image');
  if (skipped.length > 0) warn(`${skipped.length} of ${total} images could not be read and were skipped`);
  return writeDataCache(options.out, baseSize, scan.classes, { train: trainSplit, val: valSplit }, `folder:${path.resolve(data)}`, skipped);
}
