/**
 * Labelled images to evaluate a model on: a split of a prepared cache, or a folder of class
 * folders decoded here, with their labels mapped onto the model's by name. A folder's images are
 * decoded one at a time into a temporary file (a raw split on disk, as a prepared cache's), so a
 * folder of any size is evaluated in bounded memory; `dispose()` removes the file.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { decodeToSquare } from '../image/decode.js';
import { defaultCacheDir, readCacheMeta } from './cache-format.js';
import { cacheExists, readDataCache, type Split, type SplitName } from './data-cache.js';
import { listClassFolders, listingWarnings } from './folder-listing.js';
import { PREPARE_MAX_PIXELS } from './prepare-folder.js';
import { flatValMessage } from './val-solution.js';

/** Which images an evaluation takes (loadLabelledImages: a split, the cache of a --val-split folder), and `onProgress` told the images done after each batch. */
export interface EvalChoices {
  split?: SplitName | undefined;
  cacheDir?: string | undefined;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface LabelledImages {
  /** Class names of `labels`, in the data's order. */
  classes: string[];
  split: Split;
  baseSize: number;
  description: string;
  /** Remove what loading made (a folder's temporary file); nothing for a cache. */
  dispose(): Promise<void>;
}

/**
 * Images of a prepared cache (the split asked for; by default its test split, else val) or a
 * folder: DIR/<split>/<class>/* when a split is asked for, else DIR/test/, DIR/val/, the validation
 * split of DIR's prepared cache (a folder trained with --val-split) or DIR itself.
 */
export async function loadLabelledImages(dir: string, baseSize: number, splitName?: SplitName, cacheDir?: string): Promise<LabelledImages> {
  if (await cacheExists(dir)) {
    const cache = await readDataCache(dir);
    if (cache.meta.baseSize !== baseSize) throw new ConfigError(`${dir} was prepared at ${cache.meta.baseSize}x${cache.meta.baseSize}; the model needs ${baseSize}x${baseSize}`);
    const name = splitName ?? (cache.splits.test ? 'test' : 'val');
    const split = cache.splits[name];
    if (!split) throw new ConfigError(`${dir} has no ${name} split`);
    return { classes: cache.meta.classes, split, baseSize, description: `${dir} (${name} split, ${split.count} images)`, dispose: async () => undefined };
  }
  const isDir = (p: string) => fs.stat(p).then((st) => st.isDirectory(), () => false);
  // A folder trained with --val-split (train/ alone): its train and validation images are the
  // two parts its prepared cache holds, not the folder's train/ (which holds both).
  const splitByCache = (await isDir(path.join(dir, 'train'))) && !(await isDir(path.join(dir, 'val'))) && !(await isDir(path.join(dir, 'test')));
  if (splitByCache && splitName !== 'test') {
    const cache = cacheDir ?? defaultCacheDir(dir, baseSize);
    const meta = (await cacheExists(cache)) ? await readCacheMeta(cache) : undefined;
    if (meta?.valSplit !== undefined) {
      const name = splitName ?? 'val';
      const loaded = await loadLabelledImages(cache, baseSize, name);
      return { ...loaded, description: `${dir}'s ${name === 'val' ? 'validation images held out' : 'training images left'} by --val-split ${meta.valSplit} (${cache}, ${loaded.split.count} images)` };
    }
    if (splitName !== 'train') {
      throw new ConfigError(`${dir} has train/ but no val/ or test/ folder, and no prepared cache at ${cache} holding a --val-split: evaluate on --split train, give the cache training used with --cache, or train on it with --val-split first`);
    }
  }
  let root = dir;
  if (splitName) {
    root = path.join(dir, splitName);
    if (!(await isDir(root))) throw new ConfigError(`${dir} has no ${splitName}/ folder (asked for by --split ${splitName})`);
  } else {
    for (const sub of ['test', 'val']) {
      if (!(await isDir(path.join(dir, sub)))) continue;
      // ImageNet's test/ is images without labels (no class folders): nothing to score them against.
      if (sub === 'test' && (await isDir(path.join(dir, 'val'))) && (await flatValMessage(path.join(dir, sub)))) {
        console.error(`note: ${path.join(dir, sub)} holds images but no class folders (unlabelled, as ImageNet's test images): evaluating ${path.join(dir, 'val')}`);
        continue;
      }
      root = path.join(dir, sub);
      break;
    }
  }
  const flat = path.basename(root) === 'val' ? await flatValMessage(root) : undefined;
  if (flat) throw new ConfigError(flat);
  const listing = await listClassFolders(root, 1);
  for (const w of listingWarnings(listing)) console.error(`warning: ${w}`);
  const { classes } = listing;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-eval-'));
  const dispose = () => fs.rm(tmp, { recursive: true, force: true });
  const file = path.join(tmp, 'images.raw');
  const labels: number[] = [];
  const out = await fs.open(file, 'w');
  try {
    for (const f of listing.files) {
      let pixels: Uint8Array;
      try {
        pixels = (await decodeToSquare(await fs.readFile(f.path), { size: baseSize, maxPixels: PREPARE_MAX_PIXELS })).data;
      } catch (e) {
        console.error(`warning: skipping ${f.path}: ${(e as Error).message}`);
        continue;
      }
      await out.write(pixels);
      labels.push(f.label);
    }
  } catch (e) {
    await out.close();
    await dispose();
    throw e;
  }
  await out.close();
  if (labels.length === 0) {
    await dispose();
    throw new ConfigError(`no readable image in ${root}: all ${listing.files.length} were skipped (see the warnings above)`);
  }
  const split = { count: labels.length, labels: Uint16Array.from(labels), store: 'raw' as const, file };
  return { classes, split, baseSize, description: `${root} (${labels.length} images)`, dispose };
}

/** Map the data's class indices onto the model's label indices, by class folder name: its class ids, else its labels (a model trained without --labels). */
export function mapLabels(data: LabelledImages, model: { labels: string[]; classIds?: string[] }): Int32Array {
  // Compared in Unicode NFC: macOS writes folder names decomposed (NFD), and a model may have been trained on either.
  const names = (model.classIds ?? model.labels).map((l) => l.normalize('NFC'));
  const index = new Map(names.map((l, i) => [l, i]));
  // A label no folder can be named ("T-shirt/top") matches its folder-safe spelling ("T-shirt_top").
  for (const [i, l] of names.entries()) {
    const safe = l.replace(/[/\\:]/g, '_');
    if (safe !== l && !index.has(safe)) index.set(safe, i);
  }
  const missing = data.classes.filter((c) => !index.has(c.normalize('NFC')));
  if (missing.length > 0) {
    const shown = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, ... (${xs.length} in all)` : '');
    throw new ConfigError(`the data has classes the model does not know: ${shown(missing)} (the model's: ${shown(names)})`);
  }
  return Int32Array.from(data.split.labels, (l) => index.get(data.classes[l]!.normalize('NFC'))!);
}
