/**
 * A folder of class folders, `ROOT/<class>/...`, listed as a user's photo folders really are:
 * images anywhere below a class folder (subfolders by date, say) belong to it, symbolic links to
 * folders and files are followed (not one leading back to ROOT or above: named in a warning), and
 * names are compared in Unicode NFC (macOS writes NFD). What is left out is counted so it can be
 * said, never dropped in silence: files of other types by extension (HEIC, GIF, TIFF, ...) and
 * images lying beside the class folders instead of in one.
 * Hidden entries (`.DS_Store`, `._x.jpg`, `.git`) and NAS bookkeeping folders (`@eaDir`,
 * `#recycle`, `__MACOSX`, `$RECYCLE.BIN`) are not the user's data and are skipped unmentioned.
 */
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { MAX_CLASSES } from './cache-format.js';

/** The image files read (by extension; the decoder then checks the bytes). */
// .jfif: the name Windows browsers give a saved JPEG.
export const IMAGE_EXT = /\.(jpe?g|jfif|png|webp)$/i;
export const IMAGE_EXT_TEXT = '.jpg, .jpeg, .jfif, .png or .webp';

const SYSTEM_DIRS = new Set(['@eaDir', '#recycle', '#snapshot', '__MACOSX', '$RECYCLE.BIN', 'System Volume Information', 'lost+found']);
const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini', 'icon\r']);

export interface ListedFile {
  path: string;
  /** Index into `classes`. */
  label: number;
}

export interface ClassFolders {
  root: string;
  /** Class names (NFC), sorted. */
  classes: string[];
  /** Every image, class by class, each class's in path order. */
  files: ListedFile[];
  /** Files below the class folders that are not images read here, counted by lowercased extension ('' for none). */
  ignored: Map<string, number>;
  /** Image files directly in ROOT, beside the class folders. */
  loose: number;
  /** Archives directly in ROOT with no folder of their name (ImageNet's training tar holds one n01440764.tar per class, to unpack). */
  archives: number;
  /** Linked folders below ROOT leading back to ROOT or a folder above it, not followed. */
  loops: string[];
}

const ARCHIVE = /\.(tar|tgz|tar\.gz|zip)$/i;
const unpackHint = (n: number) => `${n} archive(s) (.tar, .zip) not unpacked: unpack each into a folder named after it, e.g. for f in *.tar; do mkdir "\${f%.tar}" && tar -xf "$f" -C "\${f%.tar}"; done`;

const skipped = (name: string) => name.startsWith('.') || SYSTEM_DIRS.has(name) || SYSTEM_FILES.has(name.toLowerCase());

/** Whether an entry is (or links to) a directory / a file; a broken link is a file, so reading it reports the problem. */
async function kind(dir: string, entry: Dirent): Promise<'dir' | 'file' | 'other'> {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'other';
  const st = await fs.stat(path.join(dir, entry.name)).catch(() => undefined);
  return st?.isDirectory() ? 'dir' : 'file';
}

async function readDir(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read ${dir}: ${code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (e as Error).message}`);
  }
}

/** Folders that hold the class folders (ROOT and every folder above it, by real path), and the links found leading to one. */
interface Above {
  dirs: Set<string>;
  loops: string[];
}

/** ROOT and every folder above it (by real path): a linked folder leading to one is not followed. */
async function aboveOf(root: string): Promise<Above> {
  const above: Above = { dirs: new Set(), loops: [] };
  for (let dir = await fs.realpath(root); !above.dirs.has(dir); dir = path.dirname(dir)) above.dirs.add(dir);
  return above;
}

/**
 * Whether an entry of `dir` is a link leading back to ROOT or above (recorded in `above.loops`):
 * followed, it would list ROOT's images again as this folder's, or the whole file system for `/`.
 * Only a link can: a plain subfolder of a folder below ROOT is below ROOT too.
 */
async function leadsUp(dir: string, entry: Dirent, above: Above): Promise<boolean> {
  if (!entry.isSymbolicLink()) return false;
  const link = path.join(dir, entry.name);
  if (!above.dirs.has(await fs.realpath(link).catch(() => link))) return false;
  above.loops.push(link);
  return true;
}

/** Every image below `dir`, recursively; `seen` holds the real paths of folders walked (a link loop is walked once); a link to a folder in `above` is not followed. */
async function walk(dir: string, out: string[], ignored: Map<string, number>, seen: Set<string>, above: Above): Promise<void> {
  const real = await fs.realpath(dir).catch(() => dir);
  if (seen.has(real)) return;
  seen.add(real);
  const entries = (await readDir(dir)).filter((e) => !skipped(e.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const k = await kind(dir, e);
    if (k === 'dir' && !(await leadsUp(dir, e, above))) await walk(path.join(dir, e.name), out, ignored, seen, above);
    else if (k === 'file' && IMAGE_EXT.test(e.name)) out.push(path.join(dir, e.name));
    else if (k === 'file') {
      const ext = path.extname(e.name).toLowerCase();
      ignored.set(ext, (ignored.get(ext) ?? 0) + 1);
    }
  }
}

/**
 * Every image below `dir` as the trainer reads a class folder (links followed, but not those leading
 * back to `dir` or a folder above it, returned in `loops`; hidden and NAS entries skipped; path
 * order), and the other files counted by extension.
 */
export async function listImages(dir: string): Promise<{ files: string[]; ignored: Map<string, number>; loops: string[] }> {
  const files: string[] = [];
  const ignored = new Map<string, number>();
  const above = await aboveOf(dir).catch(() => ({ dirs: new Set<string>(), loops: [] }));
  await walk(dir, files, ignored, new Set(), above);
  return { files, ignored, loops: above.loops };
}

/** List ROOT's class folders and their images; refuses fewer than `minClasses` classes and a class with no image. */
export async function listClassFolders(root: string, minClasses = 2): Promise<ClassFolders> {
  const entries = (await readDir(root)).filter((e) => !skipped(e.name));
  const above = await aboveOf(root);
  const folders: { name: string; dir: string }[] = [];
  let loose = 0;
  const archiveStems: string[] = [];
  for (const e of entries) {
    const k = await kind(root, e);
    const dir = path.join(root, e.name);
    if (k === 'dir' && (await leadsUp(root, e, above))) continue;
    if (k === 'dir') folders.push({ name: e.name.normalize('NFC'), dir });
    else if (k === 'file' && IMAGE_EXT.test(e.name)) loose++;
    else if (k === 'file' && ARCHIVE.test(e.name)) archiveStems.push(e.name.replace(ARCHIVE, '').normalize('NFC'));
  }
  // One already unpacked beside its folder (n01440764.tar and n01440764/) is not missed.
  const named = new Set(folders.map((f) => f.name));
  const archives = archiveStems.filter((s) => !named.has(s)).length;
  folders.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < folders.length; i++) {
    if (folders[i]!.name === folders[i - 1]!.name) throw new ConfigError(`${root} has two class folders named '${folders[i]!.name}' (the same name in two Unicode forms): merge them`);
  }
  if (folders.length < minClasses) {
    const hint = loose > 0 ? ` (it holds ${loose} images directly: put each class's images in a folder named after the class)` : archives > 0 ? ` (it holds ${unpackHint(archives)})` : '';
    throw new ConfigError(`${root} must hold one folder per class (at least ${minClasses}), found ${folders.length}${hint}`);
  }
  // Checked before any class folder is walked: a label past 16 bits would wrap onto class 0.
  if (folders.length > MAX_CLASSES) {
    throw new ConfigError(`${root} has ${folders.length} class folders: at most ${MAX_CLASSES} classes can be prepared (each image's class is kept in 16 bits); merge classes or split the data into several sets`);
  }
  const files: ListedFile[] = [];
  const ignored = new Map<string, number>();
  for (const [label, folder] of folders.entries()) {
    const images: string[] = [];
    const here = new Map<string, number>();
    await walk(folder.dir, images, here, new Set(), above);
    for (const [ext, n] of here) ignored.set(ext, (ignored.get(ext) ?? 0) + n);
    if (images.length === 0) {
      const other = here.size > 0 ? ` (it holds ${describeIgnored(here)})` : '';
      const todo = here.size > 0 ? 'convert the photos among them to JPEG, or remove the folder' : 'add images to it, or remove the folder';
      throw new ConfigError(`class folder ${folder.dir} has no ${IMAGE_EXT_TEXT} images${other}: ${todo}`);
    }
    for (const p of images) files.push({ path: p, label });
  }
  return { root, classes: folders.map((f) => f.name), files, ignored, loose, archives, loops: above.loops };
}

/** "3 .heic, 2 .txt" (largest first). */
export function describeIgnored(ignored: Map<string, number>): string {
  return [...ignored.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([ext, n]) => `${n} ${ext === '' ? 'without extension' : ext}`)
    .join(', ');
}

/** "did not follow 2 linked folder(s) leading back to ROOT or a folder above it (ROOT/a/up, ROOT/b/root)", the trainer's and the clients' warning. */
export function loopsText(root: string, loops: string[]): string {
  return `did not follow ${loops.length} linked folder(s) leading back to ${root} or a folder above it (${loops.slice(0, 3).join(', ')}${loops.length > 3 ? ', ...' : ''})`;
}

/** What a listing left out, as warnings (none when nothing was). */
export function listingWarnings(listing: ClassFolders): string[] {
  const out: string[] = [];
  const total = [...listing.ignored.values()].reduce((a, b) => a + b, 0);
  if (total > 0) out.push(`ignored ${total} file(s) in the class folders of ${listing.root} that are not ${IMAGE_EXT_TEXT} images (${describeIgnored(listing.ignored)}); convert the photos among them (HEIC, TIFF, GIF, ...) to JPEG to use them`);
  if (listing.loose > 0) out.push(`ignored ${listing.loose} image(s) directly in ${listing.root}: only images inside a class folder are used`);
  if (listing.loops.length > 0) out.push(`${loopsText(listing.root, listing.loops)}: followed, they would put every class's images in one class; remove them`);
  if (listing.archives > 0) out.push(`${listing.root} holds ${unpackHint(listing.archives)}; their classes are left out until then`);
  return out;
}
