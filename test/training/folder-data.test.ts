/**
 * Photo folders as users have them: images in subfolders of a class, linked folders and files,
 * HEIC and text files beside the photos, NAS bookkeeping folders, names in macOS's decomposed
 * Unicode, a class too small for --val-split, a class whose every file is unreadable, photos from
 * a 45 MP camera. Each expected outcome is worked out here from the files the test made, not from
 * the code under test; a cache is used again only while the folder is unchanged.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { getPreset } from '../../src/config.js';
import { encodeRgb } from '../../src/image/decode.js';
import { loadOrPrepare } from '../../src/cli/data-command.js';
import { listClassFolders } from '../../src/train/folder-listing.js';
import { loadLabelledImages } from '../../src/train/labelled-images.js';
import { prepareFolder, stratifiedSplit } from '../../src/train/prepare-folder.js';
import { tempDir } from '../temp-dir.js';

const tiny = getPreset('tiny');
const base = tiny.network.baseSize;

/** A small JPEG (or PNG) whose colour says which class it is. */
async function photo(file: string, k: number, format: 'jpeg' | 'png' = 'jpeg', width = 24, height = 18): Promise<void> {
  const px = new Uint8Array(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i % 3 === k % 3 ? 200 : 30) + (i % 17);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, await encodeRgb(px, width, height, format));
}

/** DIR/train/<class>/img<i>.jpg for each class and count. */
async function folder(dir: string, counts: Record<string, number>, split = 'train'): Promise<void> {
  let k = 0;
  for (const [cls, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) await photo(path.join(dir, split, cls, `img${i}.jpg`), k);
    k++;
  }
}

/** Train and val counts of a --val-split by the rule written out: each class of n holds out round(n * f), at least 1, at most n - 1. */
function expectedCounts(sizes: number[], fraction: number): { train: number; val: number } {
  let val = 0;
  for (const n of sizes) val += n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  return { train: sizes.reduce((a, b) => a + b, 0) - val, val };
}

test('listing: subfolders and links followed, hidden and NAS folders skipped, other files counted by type, loose images counted', async (t) => {
  const root = await tempDir('listing');
  const train = path.join(root, 'train');
  await folder(root, { cat: 2, dog: 2 });
  await photo(path.join(train, 'cat', '2019', 'summer', 'a.jpg'), 0);
  await photo(path.join(train, 'cat', '2020', 'b.png'), 0, 'png');
  // A JPEG as a Windows browser saves it: served, so trained on too.
  await photo(path.join(train, 'cat', 'saved.jfif'), 0);
  await fs.writeFile(path.join(train, 'cat', 'IMG_1.HEIC'), 'heic');
  await fs.writeFile(path.join(train, 'dog', 'notes.txt'), 'x');
  await fs.writeFile(path.join(train, 'dog', 'IMG_2.heic'), 'heic');
  await fs.writeFile(path.join(train, 'dog', '.DS_Store'), 'x');
  await fs.writeFile(path.join(train, 'dog', '._img0.jpg'), 'appledouble');
  await fs.mkdir(path.join(train, '@eaDir', 'thumbs'), { recursive: true });
  await photo(path.join(train, '@eaDir', 'thumbs', 't.jpg'), 1);
  await photo(path.join(train, '.hidden', 'h.jpg'), 1);
  await photo(path.join(train, 'loose.jpg'), 1);
  // A class folder that is a link, holding a link to a file and a link back to itself (a loop).
  await folder(path.join(root, 'elsewhere'), { bird: 2 }, '.');
  await fs.symlink(path.join(root, 'elsewhere', 'bird'), path.join(train, 'bird'));
  await fs.symlink(path.join(train, 'dog', 'img0.jpg'), path.join(root, 'elsewhere', 'bird', 'linked.jpg'));
  await fs.symlink(path.join(root, 'elsewhere', 'bird'), path.join(root, 'elsewhere', 'bird', 'loop'));

  const listing = await listClassFolders(train);
  t.deepEqual(listing.classes, ['bird', 'cat', 'dog']);
  const rel = (p: string) => path.relative(train, p);
  const byClass = (c: number) => listing.files.filter((f) => f.label === c).map((f) => rel(f.path)).sort();
  t.deepEqual(byClass(0), ['bird/img0.jpg', 'bird/img1.jpg', 'bird/linked.jpg']);
  t.deepEqual(byClass(1), ['cat/2019/summer/a.jpg', 'cat/2020/b.png', 'cat/img0.jpg', 'cat/img1.jpg', 'cat/saved.jfif']);
  t.deepEqual(byClass(2), ['dog/img0.jpg', 'dog/img1.jpg']);
  t.deepEqual(Object.fromEntries(listing.ignored), { '.heic': 2, '.txt': 1 });
  t.is(listing.loose, 1);

  // The preparation says what it left out, and decodes the nested and linked images.
  const warnings: string[] = [];
  await photo(path.join(root, 'val', 'bird', 'v.jpg'), 0);
  await photo(path.join(root, 'val', 'cat', 'v.jpg'), 1);
  await photo(path.join(root, 'val', 'dog', 'v.jpg'), 2);
  const meta = await prepareFolder({ data: root, out: path.join(root, 'cache'), baseSize: base, warn: (m) => warnings.push(m) });
  t.deepEqual(meta.counts, { train: 10, val: 3 });
  t.true(warnings.some((w) => w.includes('ignored 3 file(s)') && w.includes('2 .heic') && w.includes('1 .txt')), warnings.join('\n'));
  t.true(warnings.some((w) => w.includes('ignored 1 image(s) directly in')), warnings.join('\n'));
});

test('linked folders leading back to train/ or above are not followed: each class keeps its own images, and the links are named', async (t) => {
  const root = await tempDir('link-up');
  const train = path.join(root, 'train');
  await folder(root, { cat: 2, dog: 3 });
  await folder(root, { cat: 1, dog: 1 }, 'val');
  // Links a user may leave: back to train/ inside a class, to the data folder above it, and a class folder that is train/ itself.
  await fs.symlink('..', path.join(train, 'cat', 'all'));
  await fs.mkdir(path.join(train, 'dog', 'more'));
  await fs.symlink(root, path.join(train, 'dog', 'more', 'up'));
  await fs.symlink('.', path.join(train, 'everything'));
  const listing = await listClassFolders(train);
  t.deepEqual(listing.classes, ['cat', 'dog']);
  const byClass = (c: number) => listing.files.filter((f) => f.label === c).map((f) => path.relative(train, f.path)).sort();
  t.deepEqual(byClass(0), ['cat/img0.jpg', 'cat/img1.jpg']);
  t.deepEqual(byClass(1), ['dog/img0.jpg', 'dog/img1.jpg', 'dog/img2.jpg']);
  const warnings: string[] = [];
  const meta = await prepareFolder({ data: root, out: path.join(root, 'cache'), baseSize: base, warn: (m) => warnings.push(m) });
  t.deepEqual(meta.counts, { train: 5, val: 2 });
  const said = warnings.find((w) => w.startsWith('did not follow 3 linked folder(s)'));
  t.truthy(said, warnings.join('\n'));
  for (const link of ['cat/all', 'dog/more/up', 'everything']) t.true(said!.includes(path.join(train, link)), `${link} named in: ${said}`);
});

test('class folder names in decomposed Unicode (macOS) match the composed ones', async (t) => {
  const root = await tempDir('nfc');
  const nfc = 'café';
  const nfd = nfc.normalize('NFD');
  t.not(nfc, nfd);
  await folder(root, { [nfc]: 2, tea: 2 });
  await folder(root, { [nfd]: 1, tea: 1 }, 'val');
  const meta = await prepareFolder({ data: root, out: path.join(root, 'cache'), baseSize: base });
  t.deepEqual(meta.classes, [nfc, 'tea']);
  t.deepEqual(meta.counts, { train: 4, val: 2 });
});

test('--val-split holds out the fraction of each class, never a class\'s last training image, the same way every run', (t) => {
  const sizes = [1, 2, 3, 10, 40];
  const files = sizes.flatMap((n, label) => Array.from({ length: n }, (_, i) => ({ path: `c${label}/${i}`, label })));
  for (const fraction of [0.1, 0.25, 0.5, 0.9]) {
    const { train, val } = stratifiedSplit(files, fraction, 7, '');
    t.deepEqual([...train, ...val].map((f) => f.path).sort(), files.map((f) => f.path).sort(), 'every file once');
    sizes.forEach((n, label) => {
      const nVal = val.filter((f) => f.label === label).length;
      const expected = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
      t.is(nVal, expected, `class of ${n} at ${fraction}`);
    });
    t.deepEqual(stratifiedSplit(files, fraction, 7, ''), { train, val });
  }
  const a = stratifiedSplit(files, 0.5, 1, '').val.map((f) => f.path);
  const b = stratifiedSplit(files, 0.5, 2, '').val.map((f) => f.path);
  t.notDeepEqual(a, b, 'the seed draws which images');
  // Images added to one class and removed from another: every other class holds out the same
  // images, and in the changed classes at most one image crosses beyond those added or removed.
  const before = stratifiedSplit(files, 0.2, 7, '');
  const changed = [...files.filter((f) => f.path !== 'c4/3' && f.path !== 'c4/17'), { path: 'c3/new-a', label: 3 }, { path: 'c3/new-b', label: 3 }];
  const after = stratifiedSplit(changed, 0.2, 7, '');
  const held = (r: typeof before, label: number) => new Set(r.val.filter((f) => f.label === label).map((f) => f.path));
  for (const label of [0, 1, 2]) t.deepEqual(held(after, label), held(before, label), `class ${label} untouched`);
  for (const label of [3, 4]) {
    const was = [...held(before, label)].filter((p) => changed.some((f) => f.path === p));
    const left = was.filter((p) => !held(after, label).has(p));
    t.true(left.length <= 1, `class ${label}: ${left.length} images left the held-out set (${left.join(', ')})`);
  }
  // The paths count below the root: a folder moved elsewhere keeps its split.
  const moved = stratifiedSplit(files.map((f) => ({ ...f, path: `/elsewhere/${f.path}` })), 0.2, 7, '/elsewhere');
  t.deepEqual(moved.val.map((f) => f.path), before.val.map((f) => `/elsewhere/${f.path}`));
});

test('a prepared folder is used again only while unchanged: new images, a new class, another --val-split prepare it again', async (t) => {
  const root = await tempDir('reuse');
  await folder(root, { red: 6, green: 6 });
  const cacheMeta = async () => JSON.parse(await fs.readFile(path.join(root, `.alexnet-cache-${base}`, 'meta.json'), 'utf8')) as { createdAt: string; counts: Record<string, number>; classes: string[] };
  const first = await loadOrPrepare(root, tiny, { valSplit: 0.5 });
  t.deepEqual(first.meta.counts, { train: 6, val: 6 });
  const made = (await cacheMeta()).createdAt;

  // The same folder, the same options, or none typed (the recorded --val-split): the same cache.
  t.is((await loadOrPrepare(root, tiny, { valSplit: 0.5 })).meta.createdAt, made);
  t.is((await loadOrPrepare(root, tiny)).meta.createdAt, made);

  await folder(root, { blue: 4 });
  await photo(path.join(root, 'train', 'red', 'extra.jpg'), 0);
  const grown = await loadOrPrepare(root, tiny);
  t.deepEqual(grown.meta.classes, ['blue', 'green', 'red']);
  t.deepEqual(grown.meta.counts, expectedCounts([4, 6, 7], 0.5));

  const again = await loadOrPrepare(root, tiny, { valSplit: 0.25 });
  t.deepEqual(again.meta.counts, expectedCounts([4, 6, 7], 0.25));

  // A file rewritten in place (same name, new bytes) counts as a change too.
  const before = (await cacheMeta()).createdAt;
  await new Promise((r) => setTimeout(r, 20));
  await photo(path.join(root, 'train', 'red', 'extra.jpg'), 1, 'jpeg', 30, 20);
  await loadOrPrepare(root, tiny, { valSplit: 0.25 });
  t.not((await cacheMeta()).createdAt, before);
});

test('a class whose every image is unreadable is refused by name, the prepared images kept; a validation split that cannot be read fails before the training images are decoded', async (t) => {
  const root = await tempDir('unreadable');
  await folder(root, { red: 3, green: 3 });
  await folder(root, { red: 1, green: 1 }, 'val');
  await fs.mkdir(path.join(root, 'train', 'yellow'));
  for (const i of [0, 1, 2]) await fs.writeFile(path.join(root, 'train', 'yellow', `bad${i}.jpg`), 'not an image');
  await photo(path.join(root, 'val', 'yellow', 'v.jpg'), 2);
  await t.throwsAsync(loadOrPrepare(root, tiny), { message: /class\(es\) yellow of .* have no readable training image/ });
  const kept = JSON.parse(await fs.readFile(path.join(root, `.alexnet-cache-${base}`, 'meta.json'), 'utf8')) as { skipped: unknown[] };
  t.is(kept.skipped.length, 3, 'the preparation was kept, its skipped files listed');

  const root2 = await tempDir('badval');
  await folder(root2, { red: 40, green: 40 });
  for (const cls of ['red', 'green']) {
    await fs.mkdir(path.join(root2, 'val', cls), { recursive: true });
    await fs.writeFile(path.join(root2, 'val', cls, 'v.jpg'), 'not an image');
  }
  let progressed = 0;
  await t.throwsAsync(prepareFolder({ data: root2, out: path.join(root2, 'cache'), baseSize: base, workers: 1, onProgress: (d) => (progressed = d) }), {
    message: /no readable validation image: all 2 were skipped/,
  });
  t.is(progressed, 2, 'only the two validation images were taken before it stopped');
});

test('photos over the server\'s 40 MP limit are prepared; a smaller --max-pixels skips them, saying how to raise it', async (t) => {
  const root = await tempDir('pixels');
  await folder(root, { red: 2, green: 2 });
  await folder(root, { red: 1, green: 1 }, 'val');
  // 8256 x 5504 = 45.4 MP, a full-frame camera's photo.
  await photo(path.join(root, 'train', 'red', 'camera.jpg'), 0, 'jpeg', 8256, 5504);
  const meta = await prepareFolder({ data: root, out: path.join(root, 'cache'), baseSize: base });
  t.deepEqual(meta.counts, { train: 5, val: 2 });
  const warnings: string[] = [];
  const small = await prepareFolder({ data: root, out: path.join(root, 'cache2'), baseSize: base, maxPixels: 40_000_000, warn: (m) => warnings.push(m) });
  t.deepEqual(small.counts, { train: 4, val: 2 });
  t.true(warnings.some((w) => w.includes('camera.jpg') && w.includes('8256x5504') && w.includes('--max-pixels')), warnings.join('\n'));
});

test('a folder trained with --val-split is evaluated on the images its cache held out; a cache that cannot be written says where else to put it', async (t) => {
  const root = await tempDir('evalsplit');
  await folder(root, { red: 4, green: 4 });
  const cache = await loadOrPrepare(root, tiny, { valSplit: 0.25 });
  const data = await loadLabelledImages(root, base);
  t.is(data.split.count, cache.meta.counts.val!);
  t.deepEqual([...data.split.labels], [...cache.splits.val!.labels]);
  t.regex(data.description, /held out by --val-split/);
  // --split train: the images left for training (not the whole train/ folder), --split val: those held out.
  const trained = await loadLabelledImages(root, base, 'train');
  t.is(trained.split.count, cache.meta.counts.train!);
  t.is(trained.split.count + data.split.count, 8);
  t.is((await loadLabelledImages(root, base, 'val')).split.count, cache.meta.counts.val!);
  // A cache kept elsewhere (train --cache) is named with the same option.
  const other = path.join(root, '..', `${path.basename(root)}-elsewhere`);
  await loadOrPrepare(root, tiny, { valSplit: 0.5, cacheDir: other });
  t.is((await loadLabelledImages(root, base, 'val', other)).split.count, 4);

  const file = path.join(root, 'a-file');
  await fs.writeFile(file, '');
  await t.throwsAsync(loadOrPrepare(root, tiny, { valSplit: 0.25, cacheDir: path.join(file, 'cache') }), { message: /cannot write the prepared images to .* pass --cache DIR/ });
});

test('class folders put directly in DIR (no train/) are refused saying the layout', async (t) => {
  const root = await tempDir('flat');
  await folder(root, { red: 2, green: 2 }, '.');
  await t.throwsAsync(prepareFolder({ data: root, out: path.join(root, 'cache'), baseSize: base }), { message: /has no train\/ folder: the layout is .*\/train\/<class>\/<images>/ });
  // Given the train/ folder itself: the folder above it is named.
  const proper = await tempDir('given-train');
  await folder(proper, { red: 2, green: 2 });
  await t.throwsAsync(prepareFolder({ data: path.join(proper, 'train'), out: path.join(proper, 'cache'), baseSize: base }), { message: new RegExp(`is the train/ folder of ${proper}: give the folder that holds train/ \\(--data ${proper}\\)`) });
});

// Serial: it listens to console.error, which the other tests of this file write to.
test.serial('options about preparing a folder: --cache naming a folder of other files is refused; given with data already prepared, they are said to do nothing', async (t) => {
  const root = await tempDir('moot-options');
  await folder(root, { red: 3, green: 3 });
  await folder(root, { red: 1, green: 1 }, 'val');
  const mine = path.join(root, '..', `${path.basename(root)}-mine`);
  await fs.mkdir(mine, { recursive: true });
  await fs.writeFile(path.join(mine, 'thesis.txt'), 'years of work');
  await t.throwsAsync(loadOrPrepare(root, tiny, { cacheDir: mine }), { message: /--cache .*-mine exists and is not a prepared data cache: give an empty or new folder/ });
  t.is(await fs.readFile(path.join(mine, 'thesis.txt'), 'utf8'), 'years of work');
  const prepared = path.join(root, '..', `${path.basename(root)}-prepared`);
  await prepareFolder({ data: root, out: prepared, baseSize: base });
  const said: string[] = [];
  const error = console.error;
  console.error = (line: string) => said.push(line);
  try {
    await loadOrPrepare(prepared, tiny, { maxPixels: 10, valSplit: 0.5 });
    await loadOrPrepare(prepared, tiny, {});
  } finally {
    console.error = error;
  }
  t.deepEqual(said.filter((l) => l.startsWith('warning') && l.includes(prepared)), [`warning: --max-pixels, --val-split not used: ${prepared} is already prepared (with its val folder); prepare the photo folder again to change them`]);
});

test('a cache prepared from one folder is not replaced by another folder\'s preparation (a typo of --out); the same folder replaces it', async (t) => {
  const root = await tempDir('other-source');
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  await folder(a, { red: 2, green: 2 });
  await folder(a, { red: 1, green: 1 }, 'val');
  await folder(b, { x: 2, y: 2, z: 2 });
  await folder(b, { x: 1, y: 1, z: 1 }, 'val');
  const out = path.join(root, 'cache');
  await prepareFolder({ data: a, out, baseSize: base });
  const before = await fs.readFile(path.join(out, 'meta.json'), 'utf8');
  await t.throwsAsync(prepareFolder({ data: b, out, baseSize: base }), { message: /holds images prepared from .*\/a, not .*\/b: choose another --out, or remove/ });
  t.is(await fs.readFile(path.join(out, 'meta.json'), 'utf8'), before);
  await photo(path.join(a, 'train', 'red', 'new.jpg'), 0);
  t.deepEqual((await prepareFolder({ data: a, out, baseSize: base })).counts, { train: 5, val: 2 });
});

test('a run trained with --val-split resumes on the same held-out images: typed again or not, after --cache or not; another split is refused', async (t) => {
  const { alexnet } = await import('../data-fixtures.js');
  const root = await tempDir('resume-split');
  await folder(root, { red: 10, green: 10 });
  const out = path.join(root, 'run');
  const common = ['--data', root, '--out', out, '--backend', 'cpu', '--threads', '1', '--no-ten-crop'];
  const first = await alexnet(['train', ...common, '--preset', 'tiny', '--batch-size', '8', '--epochs', '1', '--val-split', '0.2', '--cache', path.join(root, 'elsewhere')]);
  t.is(first.code, 0, first.stderr);
  // No --val-split and no --cache: the run's own split, prepared again in the default cache.
  const again = await alexnet(['train', ...common, '--resume', '--epochs', '2']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /validating on 4\b/);
  const other = await alexnet(['train', ...common, '--resume', '--epochs', '3', '--val-split', '0.5']);
  t.is(other.code, 1);
  t.regex(other.stderr, /validated on --val-split 0\.2, the data now on --val-split 0\.5: a resume keeps its validation images/);
  const saved = JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8'));
  t.is(saved.training.epoch, 2, 'the refused resume trained nothing');
});

test('the same folder typed another way (relative, absolute, through a link) is the same preparation: its cache is used again', async (t) => {
  const root = await tempDir('spelled');
  const photos = path.join(root, 'photos');
  await folder(photos, { red: 4, green: 4 });
  await fs.symlink(photos, path.join(root, 'link'));
  const cache = path.join(root, 'cache');
  await loadOrPrepare(photos, tiny, { valSplit: 0.25, cacheDir: cache });
  const first = await fs.readFile(path.join(cache, 'meta.json'), 'utf8');
  for (const spelled of [path.relative(process.cwd(), photos), path.join(root, 'link'), `${photos}/`, path.join(root, 'link', '..', 'photos')]) {
    await loadOrPrepare(spelled, tiny, { valSplit: 0.25, cacheDir: cache });
    t.is(await fs.readFile(path.join(cache, 'meta.json'), 'utf8'), first, `${spelled}: used again, not prepared again`);
  }
});

test('a cache prepared again while a reader has it: a reader already reading goes on with the images it began with; one opening after stops with a message', async (t) => {
  const { readDataCache, RecordReader } = await import('../../src/train/data-cache.js');
  const root = await tempDir('replaced-under');
  await folder(root, { red: 3, green: 3 });
  await folder(root, { red: 1, green: 1 }, 'val');
  const out = path.join(root, '..', `${path.basename(root)}-cache`);
  await prepareFolder({ data: root, out, baseSize: base });
  const old = await readDataCache(out);
  const early = new RecordReader(old.splits.train!, base);
  const before = Buffer.from(await early.read(0));
  // The folder changes (another first image) and is prepared again into the same place.
  await photo(path.join(root, 'train', 'green', 'img0.jpg'), 2, 'png');
  await prepareFolder({ data: root, out, baseSize: base });
  t.deepEqual(Buffer.from(await early.read(0)), before, 'the open file is the one it began with');
  const late = new RecordReader(old.splits.train!, base);
  await t.throwsAsync(late.read(0), { message: /was prepared again after this run read its cache/ });
  const fresh = await readDataCache(out);
  t.notDeepEqual(Buffer.from(await new RecordReader(fresh.splits.train!, base).read(0)), before, 'the new cache holds the new image');
});

// Serial: it listens to console.error.
test.serial('a cache prepared with a --max-pixels of its own, used again without one, says so', async (t) => {
  const root = await tempDir('reuse-max-pixels');
  await folder(root, { red: 3, green: 3 });
  await folder(root, { red: 1, green: 1 }, 'val');
  await photo(path.join(root, 'train', 'red', 'big.jpg'), 0, 'jpeg', 100, 100);
  const said: string[] = [];
  const error = console.error;
  console.error = (line: string) => said.push(String(line));
  try {
    await loadOrPrepare(root, tiny, { maxPixels: 5000 });
    said.length = 0;
    const again = await loadOrPrepare(root, tiny);
    t.is(again.meta.skipped.length, 1);
  } finally {
    console.error = error;
  }
  t.true(said.some((l) => /prepared with --max-pixels 5000 \(1 image skipped\); give --max-pixels to prepare it otherwise/.test(l)), said.join('\n'));
});
