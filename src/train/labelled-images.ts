/**
 * Labelled images to evaluate a model on: a split of a prepared cache, or a folder of class
 * folders decoded here, with their labels mapped onto the model's by name.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { decodeToSquare } from '../image/decode.js';
import { cacheExists, readDataCache, type Split, type SplitName } from './data-cache.js';

export interface LabelledImages {
  /** Class names of `labels`, in the data's order. */
  classes: string[];
  split: Split;
  baseSize: number;
  description: string;
}

/**
 * Images of a prepared cache (the split asked for; by default its test split, else val) or a
 * folder: DIR/<split>/<class>/* when a split is asked for, else DIR/test/, DIR/val/ or DIR itself.
 */
export async function loadLabelledImages(dir: string, baseSize: number, splitName?: SplitName): Promise<LabelledImages> {
  if (await cacheExists(dir)) {
    const cache = await readDataCache(dir);
    if (cache.meta.baseSize !== baseSize) throw new ConfigError(`${dir} was prepared at ${cache.meta.baseSize}x${cache.meta.baseSize}; the model needs ${baseSize}x${baseSize}`);
    const name = splitName ?? (cache.splits.test ? 'test' : 'val');
    const split = cache.splits[name];
    if (!split) throw new ConfigError(`${dir} has no ${name} split`);
    return { classes: cache.meta.classes, split, baseSize, description: `${dir} (${name} split, ${split.count} images)` };
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
  }
  const entries = await fs.readdir(root, { withFileTypes: true }).catch((e: Error) => {
    throw new ConfigError(`cannot read ${root}: ${e.message}`);
  });
  const classes = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (classes.length === 0) throw new ConfigError(`${root} has no class folders`);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (const [label, cls] of classes.entries()) {
    for (const f of (await fs.readdir(path.join(root, cls))).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort()) {
      try {
        images.push((await decodeToSquare(await fs.readFile(path.join(root, cls, f)), { size: baseSize })).data);
        labels.push(label);
      } catch (e) {
        console.error(`warning: skipping ${path.join(root, cls, f)}: ${(e as Error).message}`);
      }
    }
  }
  const px = baseSize * baseSize * 3;
  const all = new Uint8Array(images.length * px);
  images.forEach((im, i) => all.set(im, i * px));
  return { classes, split: { count: images.length, images: all, labels: Uint16Array.from(labels) }, baseSize, description: `${root} (${images.length} images)` };
}

/** Map the data's class indices onto the model's label indices, by class folder name: its class ids, else its labels (a model trained without --labels). */
export function mapLabels(data: LabelledImages, model: { labels: string[]; classIds?: string[] }): Int32Array {
  const index = new Map((model.classIds ?? model.labels).map((l, i) => [l, i]));
  const missing = data.classes.filter((c) => !index.has(c));
  if (missing.length > 0) throw new ConfigError(`the data has classes the model does not know: ${missing.slice(0, 5).join(', ')}`);
  return Int32Array.from(data.split.labels, (l) => index.get(data.classes[l]!)!);
}
