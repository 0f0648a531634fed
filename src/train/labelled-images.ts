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
import { defaultCacheDir } from './cache-format.js';
import { cacheExists, readDataCache, type Split, type SplitName } from './data-cache.js';
import { listClassFolders, listingWarnings } from './folder-listing.js';
import { PREPARE_MAX_PIXELS } from './prepare-folder.js';

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
export async function loadLabelledImages(dir: string, baseSize: number, splitName?: SplitName): Promise<LabelledImages> {
  if (await cacheExists(dir)) {
    const cache = await readDataCache(dir);
    if (cache.meta.baseSize !== baseSize) throw new ConfigError(`${dir} was prepared at ${cache.meta.baseSize}x${cache.meta.baseSize}; the model needs ${baseSize}x${baseSize}`);
    const name = splitName ?? (cache.splits.test ? 'test' : 'val');
    const split = cache.splits[name];
    if (!split) throw new ConfigError(`${dir} has no ${name} split`);
    return { classes: cache.meta.classes, split, baseSize, description: `${dir} (${name} split, ${split.count} images)`, dispose: async () => undefined };
  }
  const isDir = (p: string) => fs.stat(p).then((st) => st.isDirectory(), () => false);
  let root = dir;
  if (splitName) {
    root = path.join(dir, splitName);
    if (!(await isDir(root))) throw new ConfigError(`${dir} has no ${splitName}/ folder (asked for by --split ${splitName})`);
  } else {
    for (const sub of ['test', 'val']) {
      if (await isDir(path.join(dir, sub))) {
        root = path.join(dir, sub);
        break;
      }
    }
    if (root === dir && (await isDir(path.join(dir, 'train')))) {
      // A folder trained with --val-split: its validation images are those held out in its cache.
      const cache = defaultCacheDir(dir, baseSize);
      if (await cacheExists(cache)) {
        const loaded = await loadLabelledImages(cache, baseSize, 'val');
        return { ...loaded, description: `${dir}'s validation images held out by --val-split (${cache}, ${loaded.split.count} images)` };
      }
      throw new ConfigError(`${dir} has train/ but no val/ or test/ folder, and no prepared cache at ${cache} holding a validation split: evaluate on --split train, or train on it with --val-split first`);
    }
  }
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
  const split = { count: labels.length, labels: Uint16Array.from(labels), store: 'raw' as const, file };
  return { classes, split, baseSize, description: `${root} (${labels.length} images)`, dispose };
}

/** Map the data's class indices onto the model's label indices, by class folder name: its class ids, else its labels (a model trained without --labels). */
export function mapLabels(data: LabelledImages, model: { labels: string[]; classIds?: string[] }): Int32Array {
  // Compared in Unicode NFC: macOS writes folder names decomposed (NFD), and a model may have been trained on either.
  const index = new Map((model.classIds ?? model.labels).map((l, i) => [l.normalize('NFC'), i]));
  const missing = data.classes.filter((c) => !index.has(c.normalize('NFC')));
  if (missing.length > 0) throw new ConfigError(`the data has classes the model does not know: ${missing.slice(0, 5).join(', ')}`);
  return Int32Array.from(data.split.labels, (l) => index.get(data.classes[l]!.normalize('NFC'))!);
}
