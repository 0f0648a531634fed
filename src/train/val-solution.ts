/**
 * ImageNet's validation images as they are downloaded: flat (`val/ILSVRC2012_val_00000001.JPEG`
 * ... 50,000 of them), their classes in a separate file. `sortValFolder` moves each image into
 * `val/<class>/`, the layout train, data prepare and eval read, as PyTorch's recipe does. The
 * file: Kaggle's `LOC_val_solution.csv` (`ImageId,PredictionString`, the first word of the
 * prediction string the synset, `n01751748 ...`), or `<file> <class>` lines. Images are only
 * renamed within the folder, never over a file; an image the file does not list stays where it
 * is; a second run (after an interruption) moves what the first left.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { IMAGE_EXT } from './folder-listing.js';

/** An image's key: its name without the extension (Kaggle lists `ILSVRC2012_val_00000001`, the file is `.JPEG`). */
const key = (name: string) => name.replace(/\.[^.]*$/, '');

/** Class by image key, from the text of a solution file; anything it cannot use is a ConfigError naming the line. */
export function parseValSolution(text: string, source: string): Map<string, string> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const csv = /^ImageId\s*,\s*PredictionString\s*$/i.test(lines[0]!.trim());
  const out = new Map<string, string>();
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || (csv && i === 0)) continue;
    const where = `${source}:${i + 1}`;
    const [image, cls] = csv ? [line.slice(0, line.indexOf(',')), line.slice(line.indexOf(',') + 1).trim().split(/\s+/)[0]] : line.split(/\s+/);
    if (/^\d+$/.test(line) || (cls !== undefined && /^\d+$/.test(cls))) {
      throw new ConfigError(`${where}: '${line}' gives a class by number, not by its folder name (the devkit's ILSVRC2012_validation_ground_truth.txt numbers classes in meta.mat's order): use Kaggle's LOC_val_solution.csv, or '<file> <class folder>' lines`);
    }
    if (!image || !cls || (csv && line.indexOf(',') < 0)) throw new ConfigError(`${where}: '${line}' is not ${csv ? "'ImageId,<class> ...'" : "'<file> <class folder>'"}`);
    if (cls === '.' || cls === '..' || /[/\\]/.test(cls)) throw new ConfigError(`${where}: '${cls}' cannot be a class folder name`);
    const k = key(path.basename(image));
    if (out.has(k) && out.get(k) !== cls) throw new ConfigError(`${where}: ${image} is listed twice, as ${out.get(k)} and ${cls}`);
    out.set(k, cls);
  }
  if (out.size === 0) throw new ConfigError(`${source} lists no image (expected Kaggle's 'ImageId,PredictionString' lines or '<file> <class folder>' lines)`);
  return out;
}

export interface SortedVal {
  /** Images moved into their class folder now. */
  moved: number;
  /** Images already in their class folder (an earlier run). */
  already: number;
  /** Class folders holding the listed images. */
  classes: number;
  /** Images directly in the folder that the file does not list: left where they are. */
  unlisted: string[];
  /** Images the file lists that are in neither place. */
  missing: number;
  /** Images not moved because their class folder already holds a file of that name. */
  clashes: string[];
}

const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

/** Move each image of `dir` that `classes` lists into `dir/<class>/`. */
export async function sortValFolder(dir: string, classes: Map<string, string>, source: string): Promise<SortedVal> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new ConfigError(`cannot read ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  const loose = entries.filter((e) => !e.isDirectory() && !e.name.startsWith('.') && IMAGE_EXT.test(e.name)).map((e) => e.name).sort();
  const listed = loose.filter((n) => classes.has(key(n)));
  const result: SortedVal = { moved: 0, already: 0, classes: 0, unlisted: loose.filter((n) => !classes.has(key(n))), missing: 0, clashes: [] };
  for (const name of listed) {
    const target = path.join(dir, classes.get(key(name))!);
    await fs.mkdir(target, { recursive: true });
    // rename() replaces an existing file without a word: a file of that name already there is left alone.
    if (await exists(path.join(target, name))) result.clashes.push(name);
    else {
      await fs.rename(path.join(dir, name), path.join(target, name));
      result.moved++;
    }
  }
  // What an earlier run moved: each listed image found in its class folder.
  const here = new Set(listed.map(key));
  const inFolders = new Map<string, Set<string>>();
  for (const cls of new Set(classes.values())) {
    const names = await fs.readdir(path.join(dir, cls)).catch(() => undefined);
    if (names) inFolders.set(cls, new Set(names.map(key)));
  }
  for (const [k, cls] of classes) {
    if (here.has(k)) continue;
    if (inFolders.get(cls)?.has(k)) result.already++;
    else result.missing++;
  }
  if (listed.length === 0 && result.already === 0) {
    throw new ConfigError(`${source} lists none of the ${loose.length} images in ${dir}${loose.length > 0 ? ` (${loose[0]}, ...)` : ''}: is it the validation solution of this folder (LOC_val_solution.csv, not LOC_train_solution.csv)?`);
  }
  result.classes = inFolders.size;
  return result;
}

/** The refusal of a validation folder of loose images and no class folders (ImageNet's, as downloaded), saying how to sort it; undefined for any other folder. */
export async function flatValMessage(dir: string): Promise<string | undefined> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  if (entries.some((e) => e.isDirectory() && !e.name.startsWith('.'))) return undefined;
  const images = entries.filter((e) => !e.name.startsWith('.') && IMAGE_EXT.test(e.name)).length;
  if (images === 0) return undefined;
  return `${dir} holds ${images} images and no class folders (as ImageNet's validation images come): sort them into ${dir}/<class>/ with 'alexnet data sort-val ${dir} --solution LOC_val_solution.csv' (Kaggle's file; or '<file> <class folder>' lines)`;
}
