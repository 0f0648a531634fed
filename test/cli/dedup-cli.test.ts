/**
 * `alexnet dedup` as a child process against a served model with a LanceDB index. The oracle: every
 * file embedded with Embed, all pairwise distances computed here, groups joined by brute force.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AlexNetClient } from '../../src/serve/client.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { cli, MODEL, png, quiet } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';
import sharp from 'sharp';

const s = {} as { server: RunningServer; dir: string };
test.before(async () => {
  s.server = await startServer({ model: MODEL, index: await tempDir('dedup-cli-index'), port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet });
  s.dir = await tempDir('dedup-cli-images');
});
test.after.always(async () => s.server?.shutdown('tests done'));

const euclid = (a: number[], b: number[]) => Math.sqrt(a.reduce((sum, x, i) => sum + (x - b[i]!) ** 2, 0));

/** Groups of two or more by single linkage over every pair within d, each sorted; the groups sorted. */
function bruteGroups(files: string[], vectors: number[][], d: number): string[][] {
  const group = files.map((_, i) => i);
  for (let i = 0; i < files.length; i++) {
    for (let j = i + 1; j < files.length; j++) {
      if (euclid(vectors[i]!, vectors[j]!) > d) continue;
      const [from, to] = [group[j]!, group[i]!];
      for (let x = 0; x < group.length; x++) if (group[x] === from) group[x] = to;
    }
  }
  const by = new Map<number, string[]>();
  files.forEach((f, i) => by.set(group[i]!, [...(by.get(group[i]!) ?? []), f]));
  return [...by.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
}

test.serial('dedup groups re-encoded, slightly changed and byte-identical copies, as brute force over Embed vectors does', async (t) => {
  const write = async (name: string, bytes: Buffer) => {
    const f = path.join(s.dir, name);
    await fs.mkdir(path.dirname(f), { recursive: true });
    await fs.writeFile(f, bytes);
    return f;
  };
  const files: string[] = [];
  for (const k of [3, 4, 10, 9]) {
    const original = await png(k);
    files.push(await write(`a/${k}.png`, original));
    if (k === 9) continue; // a picture with no copy
    files.push(await write(`b/${k}.jpg`, await sharp(original).jpeg({ quality: 90 }).toBuffer()));
    if (k !== 10) files.push(await write(`c/${k}-brighter.png`, await sharp(original).modulate({ brightness: 1.03 }).png().toBuffer()));
    if (k === 3) files.push(await write(`d/${k}-copy.png`, original));
    // A byte copy of the JPEG: its twin is not its group's first file, yet its distance to that file is known.
    if (k === 4) files.push(await write(`e/${k}-copy.jpg`, await fs.readFile(files.at(-2)!)));
  }
  files.sort();
  const client = new AlexNetClient(s.server.address);
  const vectors = await Promise.all(files.map(async (f) => (await client.embed({ image: await fs.readFile(f) })).embedding!.vector));
  client.close();
  // A threshold between the farthest copy and the nearest different picture.
  const picture = (f: string) => path.basename(f).split(/[-.]/)[0];
  const pairs = files.flatMap((f, i) => files.slice(i + 1).map((g, j) => ({ same: picture(f) === picture(g), d: euclid(vectors[i]!, vectors[i + 1 + j]!) })));
  const farthestCopy = Math.max(...pairs.filter((p) => p.same).map((p) => p.d));
  const nearestOther = Math.min(...pairs.filter((p) => !p.same).map((p) => p.d));
  t.true(farthestCopy < nearestOther, `copies ${farthestCopy} apart, different pictures ${nearestOther}: the model cannot tell them apart`);
  const d = (farthestCopy + nearestOther) / 2;

  const r = await cli('dedup', s.dir, '--max-distance', String(d), '--json', '--server', s.server.address);
  t.is(r.code, 0, r.err);
  const got = (JSON.parse(r.out) as { files: string[]; distances: number[] }[]).map((g) => [...g.files].sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
  const want = bruteGroups(files, vectors, d);
  t.deepEqual(got, want);
  t.is(want.length, 3);
  // Each file's distance to its group's first: every copy here lies within d of every other, so none is '-1 (chain)'.
  for (const g of JSON.parse(r.out) as { files: string[]; distances: number[] }[]) {
    const first = vectors[files.indexOf(g.files[0]!)]!;
    g.files.forEach((f, i) => t.true(Math.abs(g.distances[i]! - euclid(first, vectors[files.indexOf(f)]!)) < 1e-3, `${f}: ${g.distances[i]} from ${g.files[0]}`));
  }

  // The same folder with a threshold below every copy's distance: only the byte-identical pair.
  const exact = await cli('dedup', s.dir, '--max-distance', String(Math.min(...pairs.filter((p) => p.d > 0).map((p) => p.d)) / 2), '--server', s.server.address);
  t.is(exact.code, 0, exact.err);
  t.regex(exact.out, /group 1 \(2 images\)\n\s+\S+\/a\/3\.png\n\s+0\.0000\s+\S+\/d\/3-copy\.png/);
  t.regex(exact.out, /2 groups of near duplicates .* among 11 images; 2 could go/);
  // --max-distance 0: identical vectors only, as brute force at 0 finds them.
  const zero = await cli('dedup', s.dir, '--max-distance', '0', '--json', '--server', s.server.address);
  t.is(zero.code, 0, zero.err);
  t.deepEqual((JSON.parse(zero.out) as { files: string[] }[]).map((g) => [...g.files].sort()), bruteGroups(files, vectors, 0));
});

test.serial('dedup warns when other items of the index fill an image\'s --max-group neighbours, and not when they do not', async (t) => {
  const server = ['--server', s.server.address];
  const dir = await tempDir('dedup-cli-crowded');
  const others = await tempDir('dedup-cli-others');
  const original = await png(20);
  const files = [path.join(dir, 'a.png'), path.join(dir, 'b.jpg')];
  await fs.writeFile(files[0]!, original);
  await fs.writeFile(files[1]!, await sharp(original).jpeg({ quality: 90 }).toBuffer());
  const near: string[] = [];
  for (const level of [1.01, 1.02, 1.03]) {
    near.push(path.join(others, `${level}.png`));
    await fs.writeFile(near.at(-1)!, await sharp(original).modulate({ brightness: level }).png().toBuffer());
  }
  t.is((await cli('index', 'add', others, ...server)).code, 0);
  // D covers a's copy and the three brighter pictures, which are in the index but not among the files.
  const client = new AlexNetClient(s.server.address);
  const [a, ...rest] = await Promise.all([...files, ...near].map(async (f) => (await client.embed({ image: await fs.readFile(f) })).embedding!.vector));
  client.close();
  const d = Math.max(...rest.map((v) => euclid(a!, v))) * 1.01;

  // a has 4 items within d, at least one of its 2 nearest is not among the files.
  const crowded = await cli('dedup', dir, '--max-distance', String(d), '--max-group', '2', '--json', ...server);
  t.is(crowded.code, 0, crowded.err);
  t.regex(crowded.err, /warning: [12] of 2 images have 2 or more items of the index within .*: duplicates among the files may be missed; raise --max-group/);
  // The whole index (fewer than 100 items) fits in the default --max-group: no warning, and a and b grouped.
  const roomy = await cli('dedup', dir, '--max-distance', String(d), '--json', ...server);
  t.is(roomy.code, 0, roomy.err);
  t.notRegex(roomy.err, /warning/);
  t.deepEqual((JSON.parse(roomy.out) as { files: string[] }[]).map((g) => g.files), [files]);
});

test.serial('dedup: an album of links to the originals holds no duplicates: a file reached through links is one file', async (t) => {
  const dir = await tempDir('dedup-cli-album');
  await fs.mkdir(path.join(dir, 'originals'));
  await fs.mkdir(path.join(dir, 'best-of'));
  for (const k of [30, 31]) await fs.writeFile(path.join(dir, 'originals', `${k}.png`), await png(k));
  await fs.symlink(path.join('..', 'originals', '30.png'), path.join(dir, 'best-of', '30.png'));
  await fs.symlink('originals', path.join(dir, 'favourites'));
  const r = await cli('dedup', dir, '--max-distance', '0', '--server', s.server.address);
  t.is(r.code, 0, r.err);
  // Four paths, two files on disk: deleting a 'duplicate' here would have left a link to nothing.
  t.regex(r.out, /^0 groups of near duplicates \(fc7 distance <= 0\) among 2 images; 0 could go/m);
  // The same file typed twice, by its name and through a link: one file.
  const typed = await cli('dedup', path.join(dir, 'originals', '30.png'), path.join(dir, 'best-of', '30.png'), '--max-distance', '0', '--server', s.server.address);
  t.regex(typed.out, /^0 groups .* among 1 images/m);
});

test.serial('dedup refuses a missing --max-distance, a --max-group above 1000, a folder without images, an unreachable server', async (t) => {
  t.regex((await cli('dedup', s.dir)).err, /required option '--max-distance <d>'/);
  t.regex((await cli('dedup', s.dir, '--max-distance', '1', '--max-group', '1001', '--server', s.server.address)).err, /--max-group 1001: .* give 1 to 1000/);
  const empty = await tempDir('dedup-cli-empty');
  t.regex((await cli('dedup', empty, '--max-distance', '1', '--server', s.server.address)).err, /no \.jpg, \.jpeg, \.jfif, \.png or \.webp files/);
  t.regex((await cli('dedup', s.dir, '--max-distance', '1', '--server', '127.0.0.1:1')).err, /cannot reach a server at 127\.0\.0\.1:1/);
});

test.serial('a file the server cannot embed is reported; the other files are still grouped, as brute force groups them; exit 1', async (t) => {
  const dir = await tempDir('dedup-cli-bad');
  const original = await png(5);
  const files = [path.join(dir, '5.png'), path.join(dir, '5-copy.png'), path.join(dir, '5.jpg'), path.join(dir, '6.png')];
  await fs.writeFile(files[0]!, original);
  await fs.writeFile(files[1]!, original);
  await fs.writeFile(files[2]!, await sharp(original).jpeg({ quality: 90 }).toBuffer());
  await fs.writeFile(files[3]!, await png(6));
  await fs.writeFile(path.join(dir, 'broken.png'), original.subarray(0, 200));
  const client = new AlexNetClient(s.server.address);
  const vectors = await Promise.all(files.map(async (f) => (await client.embed({ image: await fs.readFile(f) })).embedding!.vector));
  client.close();
  const d = euclid(vectors[0]!, vectors[2]!) + 1e-3;

  const r = await cli('dedup', dir, '--max-distance', String(d), '--json', '--server', s.server.address);
  t.is(r.code, 1);
  t.regex(r.err, /broken\.png: cannot decode/);
  t.regex(r.err, /1 of 5 images could not be embedded \(above\): they are in no group/);
  const got = (JSON.parse(r.out) as { files: string[] }[]).map((g) => [...g.files].sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
  const want = bruteGroups(files, vectors, d);
  t.true(want.some((g) => g.length >= 3), 'the copy and the re-encoded JPEG group with their original');
  t.deepEqual(got, want);
});
