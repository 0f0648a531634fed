/** The labels file of `alexnet train --labels`: its format, its refusals, the class ids kept beside the labels in both file formats. */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PRESETS } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { readCheckpoint, writeCheckpoint } from '../../src/model/checkpoint.js';
import { initParameters } from '../../src/model/init.js';
import { metadataProps, parseMetadata, type ModelMetadata } from '../../src/model/onnx-metadata.js';
import { labelsFor, parseLabelFile, readLabelFile } from '../../src/train/label-file.js';
import { mapLabels, type LabelledImages } from '../../src/train/labelled-images.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

test('ImageNet-style lines: the first token is the folder, the rest of the line (spaces, commas) the label', (t) => {
  const text = '\uFEFFn01440764 tench, Tinca tinca\r\nn01443537 goldfish, Carassius auratus\n\n  n01484850\tgreat white shark, white shark, man-eater  \n';
  const file = parseLabelFile(text, 'synsets.txt');
  t.deepEqual([...file.byFolder], [
    ['n01440764', 'tench, Tinca tinca'],
    ['n01443537', 'goldfish, Carassius auratus'],
    ['n01484850', 'great white shark, white shark, man-eater'],
  ]);
  // In the data's folder order, not the file's; lines for folders the data lacks are ignored.
  t.deepEqual(labelsFor(['n01484850', 'n01440764'], file), ['great white shark, white shark, man-eater', 'tench, Tinca tinca']);
  // ImageNet names two synsets 'crane': the same text for two folders is allowed.
  t.deepEqual(labelsFor(['a', 'b'], parseLabelFile('a crane\nb crane\n', 'f')), ['crane', 'crane']);
});

test('a folder name with spaces ends at a tab; names match the folders in Unicode NFC whichever form either is written in', (t) => {
  const nfd = 'cafe\u0301';
  const file = parseLabelFile(`red apple\tRed apple, sweet\ngr\u00fcne Birne\tGreen pear\n${nfd} Coffee\n\u65e5\u672c Japan\n`, 'l.txt');
  t.deepEqual([...file.byFolder.keys()], ['red apple', 'gr\u00fcne Birne', 'caf\u00e9', '\u65e5\u672c']);
  // The folders as a file system may list them: NFD (macOS) for the pear, NFC for the coffee.
  t.deepEqual(labelsFor(['red apple', 'gru\u0308ne Birne', 'caf\u00e9', '\u65e5\u672c'], file), ['Red apple, sweet', 'Green pear', 'Coffee', 'Japan']);
  t.throws(() => labelsFor(['red apple', 'red  apple'], file), { instanceOf: ConfigError, message: /no line for the class folder\(s\) red {2}apple .*\(a tab after a name with spaces\)/ });
});

test('a labels file saved as UTF-16 (Notepad\'s "Unicode", PowerShell 5\'s >) reads as its UTF-8 twin', async (t) => {
  const dir = await tempDir('labels-utf16');
  const text = 'n01440764 tench, Tinca tinca\r\nred apple\tRed apple\r\n\u65e5\u672c Japan \u{1F41F}\r\n';
  const utf8 = path.join(dir, 'utf8.txt');
  await fs.writeFile(utf8, text, 'utf8');
  // UTF-16LE with its byte-order mark, and big-endian made from it by swapping each pair of bytes here.
  const le = Buffer.from(`\uFEFF${text}`, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) [be[i], be[i + 1]] = [le[i + 1]!, le[i]!];
  const want = [...(await readLabelFile(utf8)).byFolder];
  t.deepEqual(want, [['n01440764', 'tench, Tinca tinca'], ['red apple', 'Red apple'], ['\u65e5\u672c', 'Japan \u{1F41F}']]);
  for (const [name, bytes] of [['le.txt', le], ['be.txt', be]] as const) {
    await fs.writeFile(path.join(dir, name), bytes);
    t.deepEqual([...(await readLabelFile(path.join(dir, name))).byFolder], want, name);
  }
});

test('each bad labels file is a ConfigError that names the file and line', async (t) => {
  const bad = (text: string, message: RegExp) => t.throws(() => parseLabelFile(text, 'l.txt'), { instanceOf: ConfigError, message }, text);
  bad('cat a cat\ndog\n', /^l\.txt:2: 'dog' has no label text/);
  bad('cat a cat\ndog   \t \n', /^l\.txt:2: 'dog' has no label text/);
  bad('cat a cat\ndog a dog\n\ncat another cat\n', /^l\.txt:4: folder 'cat' is listed twice \(first on line 1\)/);
  bad('\n \n', /l\.txt has no 'folder-name label text' lines/);
  const file = parseLabelFile('cat a cat\n', 'l.txt');
  t.throws(() => labelsFor(['cat', 'dog', 'emu'], file), { instanceOf: ConfigError, message: /l\.txt has no line for the class folder\(s\) dog, emu of the data/ });
  const dir = await tempDir('labels');
  await t.throwsAsync(readLabelFile(path.join(dir, 'none.txt')), { instanceOf: ConfigError, message: /cannot read labels file .*none\.txt: no such file/ });
  await t.throwsAsync(readLabelFile(dir), { instanceOf: ConfigError, message: /cannot read labels file/ });
  await fs.writeFile(path.join(dir, 'ok.txt'), 'x the x\ny the y\n');
  t.deepEqual(labelsFor(['y', 'x'], await readLabelFile(path.join(dir, 'ok.txt'))), ['the y', 'the x']);
});

test('class ids: kept in the checkpoint and the ONNX metadata, absent when not given, and the data is matched against them', async (t) => {
  const dir = await tempDir('labels-ck');
  const base = { preset: 'tiny' as const, network: PRESETS.tiny.network, classes: 2, labels: ['tench, Tinca tinca', 'goldfish'], mean: { kind: 'channel' as const, values: [1, 2, 3] as [number, number, number] } };
  const tensors = initParameters(PRESETS.tiny.network, 2, new Rng(1));
  await writeCheckpoint(path.join(dir, 'with'), { ...base, classIds: ['n01440764', 'n01443537'] }, tensors);
  await writeCheckpoint(path.join(dir, 'without'), base, tensors);
  t.deepEqual((await readCheckpoint(path.join(dir, 'with'))).classIds, ['n01440764', 'n01443537']);
  t.false('classIds' in (await readCheckpoint(path.join(dir, 'without'))));
  await t.throwsAsync(writeCheckpoint(path.join(dir, 'bad'), { ...base, classIds: ['n01440764'] }, tensors), { message: /1 class ids for 2 classes/ });

  const m: ModelMetadata = { formatVersion: 1, form: 'single-crop', preset: 'tiny', labels: base.labels, inputSize: 24, baseSize: 29, embeddingDimension: 8, mean: base.mean, checkpointSha256: 'x' };
  const withIds = metadataProps({ ...m, classIds: ['n01440764', 'n01443537'] });
  t.is(withIds['alexnet.class_ids'], '["n01440764","n01443537"]');
  t.deepEqual(parseMetadata(withIds, 'm.onnx').classIds, ['n01440764', 'n01443537']);
  // A file written before the key existed reads, without class ids.
  const old = metadataProps(m);
  t.false('alexnet.class_ids' in old);
  t.false('classIds' in parseMetadata(old, 'm.onnx'));
  t.throws(() => parseMetadata({ ...old, 'alexnet.class_ids': '["a"]' }, 'm.onnx'), { message: /'alexnet.class_ids' must be a JSON array of 2 strings/ });

  // Data folders n01443537, n01440764 (sorted as a folder listing is) onto the model's classes.
  const data = { classes: ['n01440764', 'n01443537'], split: { count: 3, images: new Uint8Array(0), labels: Uint16Array.from([1, 0, 1]) }, baseSize: 29, description: '' } as LabelledImages;
  const reversed = { labels: ['goldfish', 'tench'], classIds: ['n01443537', 'n01440764'] };
  t.deepEqual([...mapLabels(data, reversed)], [0, 1, 0]);
  // A model without class ids: its labels are the folder names.
  t.deepEqual([...mapLabels(data, { labels: ['n01443537', 'n01440764'] })], [0, 1, 0]);
  t.throws(() => mapLabels(data, { labels: ['goldfish', 'tench'] }), { message: /the data has classes the model does not know: n01440764, n01443537 \(the model's: goldfish, tench\)/ });
  // A label no folder can be named (the shipped model's 'T-shirt/top') matches its folder-safe spelling.
  const fashion = { ...data, classes: ['T-shirt_top', 'Trouser'] } as LabelledImages;
  t.deepEqual([...mapLabels(fashion, { labels: ['Trouser', 'T-shirt/top'] })], [0, 1, 0]);
});
