/**
 * The images a client command (classify, embed, index add, dedup) reads from a folder: the same
 * files the trainer reads from a class folder, listed here by hand from what the test made.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { imageFiles } from '../../src/cli/image-args.js';
import { listClassFolders, listingWarnings } from '../../src/train/folder-listing.js';
import { tempDir } from '../temp-dir.js';

test('a folder: linked files and folders followed, hidden and NAS entries skipped, other types said in a warning', async (t) => {
  const root = await tempDir('image-args');
  const photos = path.join(root, 'photos');
  const elsewhere = path.join(root, 'elsewhere');
  await fs.mkdir(path.join(photos, 'sub'), { recursive: true });
  await fs.mkdir(path.join(photos, '@eaDir'), { recursive: true });
  await fs.mkdir(elsewhere);
  // Contents do not matter: the listing reads names, the server reads bytes.
  for (const f of ['sub/b.jpg', 'c.PNG', '._b.jpg', '.DS_Store', '@eaDir/b.jpg', 'd.gif', 'e.heic']) await fs.writeFile(path.join(photos, f), 'x');
  for (const f of ['x.jpg', 'y.webp']) await fs.writeFile(path.join(elsewhere, f), 'x');
  await fs.symlink(path.join(elsewhere, 'x.jpg'), path.join(photos, 'a.jpg'));
  await fs.symlink(elsewhere, path.join(photos, 'linked'));
  const warnings: string[] = [];
  const files = await imageFiles([photos], false, (m) => warnings.push(m));
  // For an index, a.jpg and linked/x.jpg are one file (the first path listed); as typed (classify), every path.
  const want = ['a.jpg', 'c.PNG', 'linked/y.webp', 'sub/b.jpg'].map((f) => path.join(photos, f));
  t.deepEqual(files, want);
  const typed = await imageFiles([photos], true, (m) => warnings.push(m));
  t.deepEqual(typed, ['a.jpg', 'c.PNG', 'linked/x.jpg', 'linked/y.webp', 'sub/b.jpg'].map((f) => path.join(photos, f)));
  t.is(warnings.length, 2);
  t.regex(warnings[0]!, /1 \.gif, 1 \.heic/);
  // A folder of only other types is refused, saying what it holds.
  await fs.mkdir(path.join(root, 'gifs'));
  await fs.writeFile(path.join(root, 'gifs', 'a.gif'), 'x');
  await t.throwsAsync(imageFiles([path.join(root, 'gifs')]), { name: 'ConfigError', message: /has no \.jpg, \.jpeg, \.jfif, \.png or \.webp files \(it holds 1 \.gif\)/ });
});

test('linked folders leading back to the folder or above are not followed, as the trainer does not follow them from train/: both list a class folder alike', async (t) => {
  // Real paths, so that the links' targets worked out below compare as strings.
  const root = await fs.realpath(await tempDir('image-args-up'));
  const train = path.join(root, 'train');
  const cat = path.join(train, 'cat');
  const images = ['c1.jpg', 'sub/c2.png', 'a/a1.jpg', 'b/b1.webp'];
  for (const f of [...images.map((f) => `cat/${f}`), 'dog/d1.jpg']) {
    await fs.mkdir(path.dirname(path.join(train, f)), { recursive: true });
    await fs.writeFile(path.join(train, f), 'x');
  }
  await fs.writeFile(path.join(root, 'beside.jpg'), 'x');
  // Each link as a user may leave it: back to train/, to the folder above, to /, to the folder it is in, and a loop between two folders.
  const links: [string, string][] = [['cat/all', '..'], ['cat/up', '../..'], ['cat/root', '/'], ['cat/sub/self', '.'], ['cat/a/x', '../b'], ['cat/b/y', '../a']];
  for (const [at, to] of links) await fs.symlink(to, path.join(train, at));
  const target = (at: string, to: string) => path.resolve(path.dirname(path.join(train, at)), to);
  const within = (dir: string, p: string) => !path.relative(dir, p).startsWith('..');
  // Named: the links inside the listed folder whose target is that folder or one above it (none here is reached only through another link).
  const leadingUp = (listed: string) => links.filter(([at, to]) => within(listed, path.join(train, at)) && within(target(at, to), listed)).map(([at]) => path.join(train, at)).sort();

  const listing = await listClassFolders(train);
  t.deepEqual(listing.classes, ['cat', 'dog']);
  const trainer = listing.files.filter((f) => f.label === 0).map((f) => f.path).sort();
  t.deepEqual([...listing.loops].sort(), leadingUp(train));
  t.deepEqual(leadingUp(train), ['cat/all', 'cat/root', 'cat/up'].map((f) => path.join(train, f)));

  for (const asTyped of [false, true]) {
    const warnings: string[] = [];
    const client = await imageFiles([cat], asTyped, (m) => warnings.push(m));
    t.deepEqual(client, trainer, `asTyped ${asTyped}`);
    // Each image the test put in cat/ once, at a path inside cat/.
    t.deepEqual((await Promise.all(client.map((f) => fs.realpath(f)))).sort(), images.map((f) => path.join(cat, f)).sort());
    for (const f of client) t.true(within(cat, f), f);
    // The same links named as by the trainer, in the same words.
    t.deepEqual(leadingUp(cat), leadingUp(train));
    t.is(warnings.length, 1, warnings.join('\n'));
    t.true(warnings[0]!.startsWith(`did not follow 3 linked folder(s) leading back to ${cat} or a folder above it (`), warnings[0]);
    for (const link of leadingUp(cat)) t.true(warnings[0]!.includes(link), `${link} named in: ${warnings[0]}`);
  }
  const said = listingWarnings(listing).find((w) => w.startsWith(`did not follow 3 linked folder(s) leading back to ${train} or a folder above it (`));
  t.truthy(said, listingWarnings(listing).join('\n'));

  // From sub/, its link to . leads back to the folder listed: named, and sub/'s image listed once.
  const sub = path.join(cat, 'sub');
  const warnings: string[] = [];
  t.deepEqual(await imageFiles([sub], false, (m) => warnings.push(m)), [path.join(sub, 'c2.png')]);
  t.deepEqual(leadingUp(sub), [path.join(sub, 'self')]);
  t.deepEqual(warnings, [`did not follow 1 linked folder(s) leading back to ${sub} or a folder above it (${path.join(sub, 'self')}): followed, they would list images from outside the folder, for a link to / the whole file system; remove them`]);
  // A folder holding only such a link is refused, and the link said first.
  const empty = path.join(root, 'empty');
  await fs.mkdir(empty);
  await fs.symlink('..', path.join(empty, 'up'));
  const before: string[] = [];
  await t.throwsAsync(imageFiles([empty], false, (m) => before.push(m)), { name: 'ConfigError', message: /has no \.jpg/ });
  t.is(before.length, 1);
  t.true(before[0]!.includes(path.join(empty, 'up')), before[0]);
});
