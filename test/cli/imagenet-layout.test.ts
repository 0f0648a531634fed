/**
 * ImageNet (ILSVRC-2012) as Kaggle's download lays it out: ILSVRC/Data/CLS-LOC/train/<synset>/,
 * a flat val/ of ILSVRC2012_val_*.JPEG with LOC_val_solution.csv beside, and a flat, unlabelled
 * test/. Each expectation is worked out here from the files the test wrote.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeRgb } from '../../src/image/decode.js';
import { alexnet } from '../data-fixtures.js';
import { tempDir } from '../temp-dir.js';

const SYNSETS = ['n01440764', 'n01443537', 'n01484850'];

async function photo(file: string, k: number): Promise<void> {
  const px = new Uint8Array(30 * 20 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i % 3 === k % 3 ? 200 : 30) + ((i * (k + 1)) % 23);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, await encodeRgb(px, 30, 20, 'jpeg'));
}

/** The layout, and each val image's synset as the test assigned it. */
async function kaggle(root: string): Promise<{ data: string; csv: string; classOf: Map<string, string> }> {
  const data = path.join(root, 'ILSVRC', 'Data', 'CLS-LOC');
  for (const [c, s] of SYNSETS.entries()) for (const i of [10026, 10027]) await photo(path.join(data, 'train', s, `${s}_${i}.JPEG`), c);
  const classOf = new Map<string, string>();
  const rows: string[] = [];
  for (let i = 1; i <= 7; i++) {
    const id = `ILSVRC2012_val_${String(i).padStart(8, '0')}`;
    const s = SYNSETS[(i * 2) % 3]!;
    classOf.set(`${id}.JPEG`, s);
    await photo(path.join(data, 'val', `${id}.JPEG`), i);
    rows.push(`${id},${s} 10 20 100 200 ${s} 5 5 50 50 `);
  }
  for (let i = 1; i <= 2; i++) await photo(path.join(data, 'test', `ILSVRC2012_test_${String(i).padStart(8, '0')}.JPEG`), i);
  const csv = path.join(root, 'LOC_val_solution.csv');
  await fs.writeFile(csv, `ImageId,PredictionString\n${rows.reverse().join('\n')}\n`);
  return { data, csv, classOf };
}

const sha = async (file: string) => createHash('sha256').update(await fs.readFile(file)).digest('hex');

test("the flat val folder: prepare says to sort it; sort-val moves each image, bytes unchanged, into its synset's folder; prepare then reads it", async (t) => {
  const root = await tempDir('imagenet-val');
  const { data, csv, classOf } = await kaggle(root);
  const val = path.join(data, 'val');
  // An image the solution does not list stays where it is.
  await photo(path.join(val, 'holiday.jpg'), 9);
  const before = new Map<string, string>();
  for (const f of classOf.keys()) before.set(f, await sha(path.join(val, f)));

  const refused = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', path.join(root, 'cache')]);
  t.is(refused.code, 1);
  t.is(refused.stderr.trim().split('\n').filter((l) => !l.startsWith('peak-rss-kb')).length, 1, refused.stderr);
  t.true(refused.stderr.includes(`alexnet data sort-val ${val} --solution LOC_val_solution.csv`), refused.stderr);

  const sorted = await alexnet(['data', 'sort-val', val, '--solution', csv]);
  t.is(sorted.code, 0, sorted.stderr);
  t.regex(sorted.stdout, /7 images moved/);
  t.regex(sorted.stderr, /1 image of .* not listed .* left where they are \(holiday\.jpg\)/);
  for (const [f, s] of classOf) t.is(await sha(path.join(val, s, f)), before.get(f)!, `${f} in ${s}/`);
  t.deepEqual((await fs.readdir(val)).sort(), [...new Set(classOf.values())].sort().concat('holiday.jpg').sort());

  // Again (after an interruption, say): nothing moves, nothing is lost.
  const again = await alexnet(['data', 'sort-val', val, '--solution', csv]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /0 images moved into class folders, 7 already there/);

  const prepared = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', path.join(root, 'cache')]);
  t.is(prepared.code, 0, prepared.stderr);
  const meta = JSON.parse(await fs.readFile(path.join(root, 'cache', 'meta.json'), 'utf8')) as { classes: string[]; counts: { train: number; val: number } };
  t.deepEqual(meta.classes, SYNSETS);
  t.deepEqual(meta.counts, { train: 6, val: 7 });
  const labels = [...(await fs.readFile(path.join(root, 'cache', 'val.labels')))].filter((_, i) => i % 2 === 0);
  const expected = [...classOf].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : 1)).map(([, s]) => SYNSETS.indexOf(s));
  t.deepEqual(labels, expected);
});

test('sort-val with the training solution (LOC_train_solution.csv) refuses, moving nothing', async (t) => {
  const root = await tempDir('imagenet-val-wrong');
  const { data } = await kaggle(root);
  const wrong = path.join(root, 'LOC_train_solution.csv');
  await fs.writeFile(wrong, `ImageId,PredictionString\n${SYNSETS[0]}_10026,${SYNSETS[0]} 1 2 3 4\n`);
  const r = await alexnet(['data', 'sort-val', path.join(data, 'val'), '--solution', wrong]);
  t.is(r.code, 1);
  t.regex(r.stderr, /lists none of the 7 images .*\(LOC_val_solution\.csv, not LOC_train_solution\.csv/);
  t.is((await fs.readdir(path.join(data, 'val'))).length, 7);
});

test("eval --data DIR measures val/ when test/ holds ImageNet's unlabelled test images, and says so", async (t) => {
  const root = await tempDir('imagenet-eval');
  const { data, classOf } = await kaggle(root);
  // Sorted here by the test itself, as PyTorch's valprep.sh would.
  for (const [f, s] of classOf) {
    await fs.mkdir(path.join(data, 'val', s), { recursive: true });
    await fs.rename(path.join(data, 'val', f), path.join(data, 'val', s, f));
  }
  const model = path.join(root, 'model');
  t.is((await alexnet(['init', '--preset', 'tiny', '--labels', SYNSETS.join(','), '--out', model])).code, 0);
  const r = await alexnet(['eval', model, '--data', data, '--center', '--backend', 'cpu']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^${classOf.size} images, center crop`, 'm'));
  t.true(r.stderr.includes(`${path.join(data, 'test')} holds images but no class folders`), r.stderr);
  // Asked for by name, the unlabelled folder is still refused.
  t.is((await alexnet(['eval', model, '--data', data, '--center', '--split', 'test', '--backend', 'cpu'])).code, 1);
});

test("1000 synset folders in train/ and a val/ of a few: the refusal is one line naming a few and counting the rest", async (t) => {
  const root = await tempDir('imagenet-1000');
  const one = path.join(root, 'one.jpg');
  await photo(one, 0);
  const synsets = Array.from({ length: 1000 }, (_, i) => `n${String(1440764 + i * 7919).padStart(8, '0')}`);
  for (const s of synsets) {
    await fs.mkdir(path.join(root, 'data', 'train', s), { recursive: true });
    await fs.link(one, path.join(root, 'data', 'train', s, `${s}_1.JPEG`));
  }
  for (const s of synsets.slice(0, 3)) {
    await fs.mkdir(path.join(root, 'data', 'val', s), { recursive: true });
    await fs.link(one, path.join(root, 'data', 'val', s, 'ILSVRC2012_val_1.JPEG'));
  }
  const r = await alexnet(['data', 'prepare', path.join(root, 'data'), '--preset', 'tiny', '--out', path.join(root, 'cache')]);
  t.is(r.code, 1);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('peak-rss-kb'));
  t.is(lines.length, 1);
  t.true(lines[0]!.length < 400, lines[0]);
  t.true(lines[0]!.includes(`${synsets.slice(3, 8).join(', ')} (997 in all)`), lines[0]);
});

test("image-net.org's train/ of one .tar per class: refused saying to unpack them; a few left packed are warned about", async (t) => {
  const root = await tempDir('imagenet-tars');
  const train = path.join(root, 'data', 'train');
  await fs.mkdir(train, { recursive: true });
  // Only the names matter here: a .tar is never read.
  for (const s of SYNSETS) await fs.writeFile(path.join(train, `${s}.tar`), 'ustar');
  const args = ['data', 'prepare', path.join(root, 'data'), '--preset', 'tiny', '--val-split', '0.5', '--out', path.join(root, 'cache')];
  const refused = await alexnet(args);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /found 0 \(it holds 3 archive\(s\) \(\.tar, \.zip\) not unpacked: unpack each into a folder named after it/);

  // Two unpacked (one tar kept beside its folder), one still packed: trained on two classes, and said.
  for (const [c, s] of SYNSETS.slice(0, 2).entries()) for (const i of [1, 2]) await photo(path.join(train, s, `${s}_${i}.JPEG`), c);
  await fs.rm(path.join(train, `${SYNSETS[1]}.tar`));
  const warned = await alexnet(args);
  t.is(warned.code, 0, warned.stderr);
  t.regex(warned.stderr, /warning: .*train holds 1 archive\(s\) \(\.tar, \.zip\) not unpacked.*their classes are left out until then/);
});
