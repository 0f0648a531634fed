/**
 * The images a client command (classify, embed, index add, dedup) is given: files as typed, and
 * every .jpg/.jpeg/.jfif/.png/.webp below a folder (sorted), in the order of the arguments, each once
 * (without `asTyped`, by its real path: a link to a file already given is that file).
 * A folder is read as the trainer reads a class folder (folder-listing.ts): links followed, but not
 * one leading back to the folder or above it (`ln -s .. up`, `ln -s / root`: named in a warning), hidden
 * files (macOS's `._x.jpg`) and NAS folders skipped, files of other types counted in a warning.
 * A file typed by name is sent whatever its name: the server says if it is no image. Paths are
 * absolute (what an index stores), or with `asTyped` as the user wrote them (what classify prints);
 * with `asTyped` a missing file is kept too, so its read fails alone and the others are answered.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { describeIgnored, IMAGE_EXT_TEXT, listImages, loopsText } from '../train/folder-listing.js';

export async function imageFiles(args: string[], asTyped = false, warn: (message: string) => void = (m) => console.error(`warning: ${m}`)): Promise<string[]> {
  const found = new Map<string, string>();
  const add = async (file: string) => {
    // For an index, one entry per file on disk: a link and its target (an album of links) are not two duplicates.
    const key = asTyped ? path.resolve(file) : await fs.realpath(file).catch(() => path.resolve(file));
    if (!found.has(key)) found.set(key, asTyped ? file : path.resolve(file));
  };
  for (const a of args) {
    const st = await fs.stat(a).catch(() => undefined);
    if (st === undefined && !asTyped) throw new ConfigError(`${a}: no such file or folder`);
    if (st === undefined || !st.isDirectory()) {
      await add(a);
      continue;
    }
    const { files: inside, ignored, loops } = await listImages(a);
    // Said before a refusal of the folder: such a link may be all it held.
    if (loops.length > 0) warn(`${loopsText(a, loops)}: followed, they would list images from outside the folder, for a link to / the whole file system; remove them`);
    const other = ignored.size > 0 ? ` (it holds ${describeIgnored(ignored)})` : '';
    if (inside.length === 0) throw new ConfigError(`folder ${a} has no ${IMAGE_EXT_TEXT} files${other}`);
    if (ignored.size > 0) warn(`ignored the files in ${a} that are not ${IMAGE_EXT_TEXT} images${other}; convert the photos among them (HEIC, TIFF, GIF, ...) to JPEG to send them`);
    for (const f of inside.sort()) await add(f);
  }
  return [...found.values()];
}
