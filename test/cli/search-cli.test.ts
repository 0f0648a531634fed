/** `alexnet index add|info|delete` and `alexnet search` as child processes against a served model with a LanceDB index. */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { AlexNetClient } from '../../src/serve/client.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { cli, MODEL, png, quiet } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';
import { alexnet } from '../data-fixtures.js';
import { startServerProcess } from '../server-process.js';

const s = {} as { server: RunningServer; dir: string; files: string[] };
test.before(async () => {
  s.server = await startServer({ model: MODEL, index: await tempDir('search-cli-index'), port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet });
  s.dir = await tempDir('search-cli-images');
  s.files = [];
  for (const [cls, ks] of [['shirt', [1, 2, 3]], ['shoe', [4, 5]]] as const) {
    await fs.mkdir(path.join(s.dir, cls, 'more'), { recursive: true });
    for (const k of ks) {
      const f = path.join(s.dir, cls, k === 3 ? 'more' : '', `${k}.png`);
      await fs.writeFile(f, await png(k));
      s.files.push(f);
    }
  }
  await fs.writeFile(path.join(s.dir, 'notes.txt'), 'not an image');
});
test.after.always(async () => s.server?.shutdown('tests done'));

test.serial('index add walks the folders, then skips what is stored; search prints a table and JSON; info; delete', async (t) => {
  const server = ['--server', s.server.address];
  const first = await cli('index', 'add', s.dir, ...server);
  t.is(first.code, 0, first.err);
  t.regex(first.out, /^5 added, 0 already in the index, 0 failed \(of 5 files\)/);
  const again = await cli('index', 'add', s.dir, ...server);
  t.regex(again.out, /^0 added, 5 already in the index/);

  const query = s.files[0]!;
  const id = createHash('sha256').update(await fs.readFile(query)).digest('hex').slice(0, 32);
  const table = await cli('search', query, '-k', '3', ...server);
  t.is(table.code, 0, table.err);
  const lines = table.out.trim().split('\n');
  t.regex(lines[0]!, /^rank\s+distance\s+id\s+uri\s+predicted\s+labels$/);
  t.is(lines.length, 4);
  t.regex(lines[1]!, new RegExp(`^1\\s+0\\.0000\\s+${id}\\s+${query}\\s+\\S+\\s+class=shirt$`));

  const json = JSON.parse((await cli('search', query, '-k', '5', '--where', 'class=shoe', '--json', ...server)).out) as { uri: string; labels: { class: string }; distance: number }[];
  t.deepEqual(json.map((h) => h.labels.class), ['shoe', 'shoe']);
  t.true(json[0]!.distance <= json[1]!.distance);
  // The same key twice: either value; another key beside it: both must hold.
  const either = JSON.parse((await cli('search', query, '-k', '5', '--where', 'class=shoe', '--where', 'class=shirt', '--json', ...server)).out) as { labels: { class: string } }[];
  // (shirt/more/3.png is labelled class=more: its folder.)
  t.deepEqual(either.map((h) => h.labels.class).sort(), ['shirt', 'shirt', 'shoe', 'shoe']);
  const none = JSON.parse((await cli('search', query, '-k', '5', '--where', 'class=shoe', '--where', 'colour=red', '--json', ...server)).out) as unknown[];
  t.deepEqual(none, []);

  const info = await cli('index', 'info', ...server);
  t.regex(info.out, /items\s+5 \(512-d, euclidean\)/);
  const del = await cli('index', 'delete', id, 'no-such-id', ...server);
  t.regex(del.out, /deleted 1 of 2 ids/);
  t.is(JSON.parse((await cli('index', 'info', '--json', ...server)).out).count, 4);
  t.regex((await cli('index', 'add', query, ...server)).out, /^1 added, 0 already/);
  // More ids than the server takes in one call (1000): the command splits them.
  const many = [...Array.from({ length: 1200 }, (_, i) => `no-such-${i}`), id];
  const big = await cli('index', 'delete', ...many, ...server);
  t.is(big.code, 0, big.err);
  t.regex(big.out, /deleted 1 of 1201 ids/);
  t.regex((await cli('index', 'add', query, ...server)).out, /^1 added, 0 already/);
});

test.serial('search --id: the other items nearest to a stored one, as brute force over Embed vectors orders them', async (t) => {
  const idOf = async (f: string) => createHash('sha256').update(await fs.readFile(f)).digest('hex').slice(0, 32);
  const client = new AlexNetClient(s.server.address);
  const stored = await Promise.all(s.files.map(async (f) => ({ id: await idOf(f), vector: (await client.embed({ image: await fs.readFile(f) })).embedding!.vector })));
  client.close();
  const [query, ...others] = stored;
  const euclid = (a: number[], b: number[]) => Math.sqrt(a.reduce((sum, x, i) => sum + (x - b[i]!) ** 2, 0));
  const want = others.map((o) => ({ id: o.id, d: euclid(query!.vector, o.vector) })).sort((a, b) => a.d - b.d);
  const r = await cli('search', '--id', query!.id, '-k', '10', '--json', '--server', s.server.address);
  t.is(r.code, 0, r.err);
  const hits = JSON.parse(r.out) as { id: string; distance: number }[];
  t.deepEqual(hits.map((h) => h.id), want.map((w) => w.id));
  hits.forEach((h, i) => t.true(Math.abs(h.distance - want[i]!.d) < 1e-4, `${h.distance} vs ${want[i]!.d}`));
  t.regex((await cli('search', '--server', s.server.address)).err, /give an image file or --id <id>/);
  t.regex((await cli('search', '--id', 'no-such-id', '--server', s.server.address)).err, /no item with id "no-such-id"/);
});

test.serial('index add of two files with the same bytes: one item, and said so', async (t) => {
  const dir = await tempDir('search-cli-copies');
  const image = await png(40);
  for (const f of ['a.png', 'copy-of-a.png']) await fs.writeFile(path.join(dir, f), image);
  await fs.writeFile(path.join(dir, 'b.png'), await png(41));
  const before = JSON.parse((await cli('index', 'info', '--json', '--server', s.server.address)).out).count as number;
  const r = await cli('index', 'add', dir, '--server', s.server.address);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^2 added, 0 already in the index, 1 a copy of another file given \(one item per content\), 0 failed \(of 3 files\)/);
  t.is(JSON.parse((await cli('index', 'info', '--json', '--server', s.server.address)).out).count, before + 2);
});

test.serial('index add after a folder is renamed stores the new path and class; a copy elsewhere leaves the stored one', async (t) => {
  const server = ['--server', s.server.address];
  const dir = await tempDir('search-cli-moved');
  const image = await png(70);
  await fs.mkdir(path.join(dir, 'boots'));
  await fs.writeFile(path.join(dir, 'boots', 'x.png'), image);
  t.regex((await cli('index', 'add', dir, ...server)).out, /^1 added/);
  const hit = async () => (JSON.parse((await cli('search', path.join(dir, 'sneakers', 'x.png'), '-k', '1', '--json', ...server)).out) as { uri: string; labels: { class: string } }[])[0]!;
  await fs.rename(path.join(dir, 'boots'), path.join(dir, 'sneakers'));
  const again = await cli('index', 'add', dir, ...server);
  t.is(again.code, 0, again.err);
  t.regex(again.out, /^0 added, 0 already in the index, 1 moved \(stored path gone: path and class label updated\), 0 failed \(of 1 files\)/);
  const moved = await hit();
  t.is(moved.uri, path.join(dir, 'sneakers', 'x.png'));
  t.deepEqual(moved.labels, { class: 'sneakers' });
  // A copy in another folder while the stored file is still there: one item, where it was.
  await fs.mkdir(path.join(dir, 'backup'));
  await fs.writeFile(path.join(dir, 'backup', 'x.png'), image);
  t.regex((await cli('index', 'add', path.join(dir, 'backup'), ...server)).out, /^0 added, 1 already in the index, 0 failed/);
  t.is((await hit()).uri, path.join(dir, 'sneakers', 'x.png'));
});

test.serial('refusals: no images, a bad k, an unreachable server', async (t) => {
  const none = await cli('index', 'add', path.join(s.dir, 'notes.txt'), '--server', s.server.address);
  t.is(none.code, 1);
  const empty = await tempDir('search-cli-empty');
  const nothing = await cli('index', 'add', empty, '--server', s.server.address);
  t.is(nothing.code, 1);
  t.regex(nothing.err, /no \.jpg, \.jpeg, \.jfif, \.png or \.webp files/);
  t.is((await cli('search', s.files[0]!, '-k', '0')).code, 1);
  const folder = await cli('search', s.dir, '--server', s.server.address);
  t.is(folder.code, 1);
  t.regex(folder.err, /^alexnet: cannot read \S+: it is a folder \(search takes one image; dedup or index add take folders\)\n$/);
  const down = await cli('index', 'info', '--server', '127.0.0.1:1');
  t.is(down.code, 1);
  t.regex(down.err, /cannot reach a server at 127\.0\.0\.1:1/);
});

test.serial('index add: a file over the server\'s 16 MiB per request fails alone, named; the folder\'s other images are stored', async (t) => {
  const server = ['--server', s.server.address];
  const dir = await tempDir('search-cli-big');
  await fs.mkdir(path.join(dir, 'album'));
  // Sorted first, so it is in the stream before the others.
  await fs.writeFile(path.join(dir, 'album', '0-huge.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(17 * 2 ** 20)]));
  const good = [6, 7, 8].map((k) => path.join(dir, 'album', `${k}.png`));
  for (const [i, f] of good.entries()) await fs.writeFile(f, await png(6 + i));
  const r = await cli('index', 'add', dir, ...server);
  t.is(r.code, 1, r.err);
  t.regex(r.out, /^3 added, 0 already in the index, 1 failed \(of 4 files\)/);
  t.regex(r.err, /0-huge\.jpg: the request is 17\.0 MiB, over the server's limit of 16\.0 MiB: send the image scaled down/);
  // Each good image is found by its own bytes at distance 0.
  for (const f of good) {
    const hit = JSON.parse((await cli('search', f, '-k', '1', '--json', ...server)).out) as { uri: string; distance: number }[];
    t.is(hit[0]!.uri, f);
  }
});

test.serial('index add holds a bounded part of a folder of big photos in memory, not 256 of them', async (t) => {
  // 2 MiB files that decode fast: a 32x32 JPEG, then bytes after its end marker (decoders stop there); each distinct.
  const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toBuffer();
  const folder = async (name: string, n: number) => {
    const dir = await tempDir(name);
    for (let k = 0; k < n; k++) await fs.writeFile(path.join(dir, `${k}.jpg`), Buffer.concat([jpeg, Buffer.from(`${name} ${k}`), Buffer.alloc(2 << 20)]));
    return dir;
  };
  const few = await alexnet(['index', 'add', await folder('search-cli-few', 8), '--server', s.server.address]);
  const many = await alexnet(['index', 'add', await folder('search-cli-many-big', 128), '--server', s.server.address]);
  t.is(few.code, 0, few.stderr);
  t.is(many.code, 0, many.stderr);
  t.regex(many.stdout, /^128 added/);
  // 256 MiB of files against 16: peak memory (the kernel's figure) within 128 MiB of each other, a round's
  // 64 MiB of files and their encoded messages (reading all 128 at once, as before, added about 250 MiB).
  t.true(many.peakMiB - few.peakMiB < 128, `8 files: ${few.peakMiB.toFixed(0)} MiB, 128 files: ${many.peakMiB.toFixed(0)} MiB`);
});

test('index list shows every item; prune deletes the items of files gone or edited; delete --where and --all empty it', async (t) => {
  const own = await startServer({ model: MODEL, index: await tempDir('search-cli-list-index'), port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet });
  t.teardown(() => own.shutdown('test done'));
  const server = ['--server', own.address];
  const dir = await tempDir('search-cli-list');
  const files: { file: string; cls: string }[] = [];
  for (const [cls, ks] of [['red', [50, 51, 52]], ['blue', [53, 54]]] as const) {
    await fs.mkdir(path.join(dir, cls));
    for (const k of ks) {
      const file = path.join(dir, cls, `${k}.png`);
      await fs.writeFile(file, await png(k));
      files.push({ file, cls });
    }
  }
  t.is((await cli('index', 'add', dir, ...server)).code, 0);
  // The oracle: each file's id is the first 32 hex digits of its SHA-256, computed here; ids in byte order.
  const idOf = async (f: string) => createHash('sha256').update(await fs.readFile(f)).digest('hex').slice(0, 32);
  const expected = async (which: { file: string; cls: string }[]) => (await Promise.all(which.map(async (f) => `${await idOf(f.file)}\t${f.file}\tclass=${f.cls}`))).sort();
  const listed = async (...args: string[]) => {
    const r = await cli('index', 'list', ...args, ...server);
    t.is(r.code, 0, r.err);
    // id, uri, predicted class, labels: the predicted class is the model's, left out of the comparison.
    return r.out.trim() === '' ? [] : r.out.trim().split('\n').map((l) => l.split('\t')).map(([id, uri, , labels]) => `${id}\t${uri}\t${labels}`);
  };
  t.deepEqual(await listed(), await expected(files));
  t.deepEqual(await listed('--where', 'class=blue'), await expected(files.filter((f) => f.cls === 'blue')));
  const json = (await cli('index', 'list', '--json', ...server)).out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; uri: string; labels: Record<string, string> });
  t.deepEqual(json.map((j) => j.uri).sort(), files.map((f) => f.file).sort());

  // One file edited in place (stored again under its new content's id), one deleted.
  const [edited, gone] = [files[0]!, files[3]!];
  const oldEditedId = await idOf(edited.file);
  await fs.writeFile(edited.file, await png(60));
  await fs.rm(gone.file);
  t.is((await cli('index', 'add', dir, ...server)).code, 0);
  const dry = await cli('index', 'prune', '--dry-run', ...server);
  t.is(dry.code, 0, dry.err);
  t.regex(dry.err, /would delete 2 items \(1 gone, 1 changed since they were added, of 6 files checked\)/);
  t.is((await listed()).length, 6, 'a dry run deletes nothing');
  const pruned = await cli('index', 'prune', ...server);
  t.is(pruned.code, 0, pruned.err);
  t.regex(pruned.out, new RegExp(`changed\\t${oldEditedId}\\t`));
  const left = files.filter((f) => f !== gone);
  t.deepEqual(await listed(), await expected(left));

  // Deleting by label, then everything.
  const del = await cli('index', 'delete', '--where', 'class=red', ...server);
  t.is(del.code, 0, del.err);
  t.regex(del.out, /deleted 3 items matching class=red/);
  t.deepEqual(await listed(), await expected(left.filter((f) => f.cls === 'blue')));
  t.regex((await cli('index', 'delete', '--all', ...server)).out, /deleted 1 item\b/);
  t.deepEqual(await listed(), []);
  for (const args of [[], ['x', '--all'], ['--all', '--where', 'class=red']]) {
    const r = await cli('index', 'delete', ...args, ...server);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.err, /^alexnet: .*(ids|--all|--where)/);
  }
});

test('index prune deletes nothing when none of the stored files is on this machine, unless --force', async (t) => {
  const own = await startServer({ model: MODEL, index: await tempDir('search-cli-prune-index'), port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet });
  t.teardown(() => own.shutdown('test done'));
  const server = ['--server', own.address];
  const dir = await tempDir('search-cli-unmounted');
  for (const k of [70, 71]) await fs.writeFile(path.join(dir, `${k}.png`), await png(k));
  t.is((await cli('index', 'add', dir, ...server)).code, 0);
  await fs.rm(dir, { recursive: true });
  const refused = await cli('index', 'prune', ...server);
  t.is(refused.code, 1);
  t.regex(refused.err, /none of the 2 files the index was given is on this machine.*nothing deleted/);
  t.is(JSON.parse((await cli('index', 'info', '--json', ...server)).out).count, 2);
  t.regex((await cli('index', 'prune', '--force', ...server)).err, /deleted 2 items \(2 gone/);
  t.is(JSON.parse((await cli('index', 'info', '--json', ...server)).out).count, 0);
});

test.serial('a server that stops answering: search, index add|info|delete and dedup end at --timeout with what happened, not wait forever', async (t) => {
  t.timeout(120_000);
  const p = await startServerProcess(['--index', await tempDir('search-cli-stopped-index')]);
  try {
    p.child.kill('SIGSTOP');
    const server = ['--server', p.address, '--timeout', '1'];
    for (const args of [['search', s.files[0]!], ['index', 'add', s.dir], ['index', 'info'], ['index', 'list'], ['index', 'delete', 'some-id'], ['index', 'delete', '--all'], ['dedup', s.dir, '--max-distance', '1']]) {
      const r = await cli(...args, ...server);
      t.is(r.code, 1, args.join(' '));
      t.regex(r.err, new RegExp(`the server at ${p.address} did not answer within 1 s \\(--timeout\\)`), args.join(' '));
    }
  } finally {
    p.child.kill('SIGCONT');
    p.child.kill('SIGTERM');
    await p.done;
  }
});
