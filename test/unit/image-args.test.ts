/**
 * The images a client command (classify, embed, index add, dedup) reads from a folder: the same
 * files the trainer reads from a class folder, listed here by hand from what the test made.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { imageFiles } from '../../src/cli/image-args.js';
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
