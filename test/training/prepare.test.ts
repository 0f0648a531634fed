/**
 * `alexnet data prepare` as a user runs it (a child process): killed mid-way (SIGKILL) and run
 * again, it ends with the same bytes as a run never stopped; Ctrl-C keeps the work and says how to
 * go on; a disk that fills up (a 2 MiB tmpfs) exits 1 saying so, leaves nothing behind and keeps
 * the cache that was there; a directory of someone's files is never written over.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeRgb } from '../../src/image/decode.js';
import { planFolder } from '../../src/train/prepare-folder.js';
import { alexnet, cacheFiles, CLI, manyImages, startAlexnet } from '../data-fixtures.js';
import { tempDir } from '../temp-dir.js';

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

/** Resolves once `file` exists (polling), or rejects after `ms`. */
async function appears(file: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await exists(file))) {
    if (Date.now() > until) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('killed mid-way (SIGKILL) and run again: the same cache bytes as an uninterrupted run, for raw and jpeg stores', async (t) => {
  const root = await tempDir('prepare-kill');
  const data = path.join(root, 'data');
  await manyImages(data, 3, 900, 100);
  for (const store of ['raw', 'jpeg']) {
    const whole = path.join(root, `whole-${store}`);
    const ok = await alexnet(['data', 'prepare', data, '--preset', 'mini', '--store', store, '--out', whole]);
    t.is(ok.code, 0, ok.stderr);
    const out = path.join(root, `killed-${store}`);
    const run = startAlexnet(['data', 'prepare', data, '--preset', 'mini', '--store', store, '--out', out]);
    await appears(path.join(`${out}.partial`, 'journal.json'));
    run.child.kill('SIGKILL');
    const killed = await run.done;
    t.is(killed.signal, 'SIGKILL', 'the run was killed before it finished');
    t.false(await exists(path.join(out, 'meta.json')), 'no cache in place after the kill');
    const journal = JSON.parse(await fs.readFile(path.join(`${out}.partial`, 'journal.json'), 'utf8'));
    t.true(journal.next > 0 && journal.next < 3000, `stopped at ${journal.next} of 3000`);
    const again = await alexnet(['data', 'prepare', data, '--preset', 'mini', '--store', store, '--out', out]);
    t.is(again.code, 0, again.stderr);
    t.regex(again.stderr, /resuming the interrupted preparation .* at image \d+ of 3000/);
    t.deepEqual(await cacheFiles(out), await cacheFiles(whole), `${store}: resumed from image ${journal.next}`);
    t.false(await exists(`${out}.partial`));
  }
});

/** A folder of 2,100 images, and a preparation of it stopped by Ctrl-C once its first journal is written. */
async function interruptedPrepare(name: string) {
  const root = await tempDir(name);
  const data = path.join(root, 'data');
  await manyImages(data, 2, 1000, 50);
  const out = path.join(root, 'cache');
  const run = startAlexnet(['data', 'prepare', data, '--preset', 'mini', '--out', out, '--workers', '1']);
  await appears(path.join(`${out}.partial`, 'journal.json'));
  run.child.kill('SIGINT');
  return { root, data, out, stopped: await run.done };
}

test('Ctrl-C keeps the work done and says how to go on; the same command then finishes it', async (t) => {
  const { data, out, stopped } = await interruptedPrepare('prepare-int');
  t.is(stopped.code, 1, stopped.stderr);
  t.regex(stopped.stderr, /interrupted after \d+ of 2100 images: run the same command again/);
  const again = await alexnet(['data', 'prepare', data, '--preset', 'mini', '--out', out]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /prepared .*"train":2000,"val":100/);
});

test('an image changed after an interruption: the run starts over instead of resuming, and the cache is that of the changed folder', async (t) => {
  const { root, data, out, stopped } = await interruptedPrepare('prepare-changed');
  t.is(stopped.code, 1, stopped.stderr);
  // The first image, already in the partial cache, becomes another picture (a new file: the fixture's files are hard links).
  const first = path.join(data, 'train', 'class0', 'img000000.png');
  await fs.unlink(first);
  await fs.copyFile(path.join(data, '.sources', 'c1-2.png'), first);
  const again = await alexnet(['data', 'prepare', data, '--preset', 'mini', '--out', out]);
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stderr, /resuming/);
  t.regex(again.stderr, /the interrupted preparation in .*\.partial \(\d+ images done\) was of other files or options than now: starting over/);
  const whole = path.join(root, 'whole');
  t.is((await alexnet(['data', 'prepare', data, '--preset', 'mini', '--out', whole])).code, 0);
  t.deepEqual(await cacheFiles(out), await cacheFiles(whole));
});

// A disk that fills up, made real: a small tmpfs. Mounting needs root; tried once here, and where it is refused the test is skipped saying why.
function tmpfsProblem(): string | undefined {
  const probe = mkdtempSync(path.join(os.tmpdir(), 'alexnet-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return undefined;
  } catch (e) {
    return `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]})`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const noTmpfs = tmpfsProblem();
(noTmpfs ? test.skip : test)(`a disk that fills up: exit 1 saying so, nothing left behind, the earlier cache intact${noTmpfs ? ` [skipped: ${noTmpfs}]` : ''}`, async (t) => {
  const root = await tempDir('prepare-full');
  const disk = path.join(root, 'disk');
  await fs.mkdir(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
  try {
    const photos = path.join(root, 'photos');
    await manyImages(photos, 2, 40, 10);
    const out = path.join(disk, 'cache');
    const first = await alexnet(['data', 'prepare', photos, '--preset', 'mini', '--out', out]);
    t.is(first.code, 0, first.stderr);
    const before = await cacheFiles(out);
    // The folder grows to 820 images: 4,800 bytes each do not fit beside the earlier cache in 2 MiB.
    await fs.rm(photos, { recursive: true });
    await manyImages(photos, 2, 400, 10);
    const full = await alexnet(['data', 'prepare', photos, '--preset', 'mini', '--out', out]);
    t.is(full.code, 1);
    t.regex(full.stderr, /no space left on the device .* free some space or choose another --out/);
    t.notRegex(full.stderr, /at .*\.js:\d+/, 'a message, not a stack trace');
    t.deepEqual(await cacheFiles(out), before, 'the earlier cache is intact');
    t.deepEqual((await fs.readdir(disk)).sort(), ['cache'], 'nothing half-written is left');
  } finally {
    execFileSync('umount', [disk]);
  }
});

// The process killed at the moment the finished cache is renamed into place, the earlier one already moved aside: SIGKILL from inside fs.promises.rename.
const KILL_AT_RENAME = `data:text/javascript,import fs from 'node:fs'; const rename = fs.promises.rename; fs.promises.rename = (from, to) => { if (String(from).endsWith('.partial')) process.kill(process.pid, 'SIGKILL'); return rename(from, to); };`;

test('killed between moving the earlier cache aside and renaming the new one in: the next run finishes from the journal and leaves no moved-aside copy', async (t) => {
  const root = await tempDir('prepare-rename');
  const data = path.join(root, 'data');
  await manyImages(data, 2, 60, 10);
  const out = path.join(root, 'cache');
  const args = ['data', 'prepare', data, '--preset', 'tiny', '--out', out];
  t.is((await alexnet(args)).code, 0);
  // The folder changes, so the cache is prepared again, and killed as it is put in place.
  await fs.rm(path.join(data, 'train', 'class0', 'img000000.png'));
  const killed = await new Promise<NodeJS.Signals | null>((resolve) => {
    const child = spawn(process.execPath, ['--import', KILL_AT_RENAME, CLI, ...args], { stdio: 'ignore' });
    child.on('exit', (_code, signal) => resolve(signal));
  });
  t.is(killed, 'SIGKILL');
  t.false(await exists(out), 'killed with the earlier cache moved aside');
  const again = await alexnet(args);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /finishing the interrupted preparation in .*cache\.partial \(all 139 images were done\)/);
  const whole = path.join(root, 'whole');
  t.is((await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', whole])).code, 0);
  t.deepEqual(await cacheFiles(out), await cacheFiles(whole), 'the cache of the changed folder');
  t.deepEqual((await fs.readdir(root)).sort(), ['cache', 'data', 'whole'], 'no moved-aside cache, partial directory or lock is left');
});

(noTmpfs ? test.skip : test)(`train on a folder whose disk fills up while preparing it: the message says --cache (train's --out is the run), and --cache elsewhere trains${noTmpfs ? ` [skipped: ${noTmpfs}]` : ''}`, async (t) => {
  const root = await tempDir('train-full');
  const disk = path.join(root, 'disk');
  await fs.mkdir(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
  try {
    // 820 hard links of 16 small pictures fit; their 820 prepared images of 4,800 bytes do not.
    const photos = path.join(disk, 'photos');
    await manyImages(photos, 2, 400, 10);
    const args = ['train', '--data', photos, '--preset', 'mini', '--batch-size', '8', '--max-steps', '1', '--no-ten-crop', '--out', path.join(root, 'run')];
    const full = await alexnet(args);
    t.is(full.code, 1);
    t.regex(full.stderr, /no space left on the device .* pass --cache DIR to keep the prepared images on another disk/);
    t.notRegex(full.stderr, /--out/, 'train --out is where the run goes, not the prepared images');
    t.deepEqual((await fs.readdir(photos)).sort(), ['.sources', 'train', 'val'], 'nothing half-written is left');
    const elsewhere = await alexnet([...args, '--cache', path.join(root, 'cache')]);
    t.is(elsewhere.code, 0, elsewhere.stderr);
  } finally {
    execFileSync('umount', [disk]);
  }
});

(noTmpfs ? test.skip : test)(`a disk already full: the refusal says so (not that the folder is not writable) and leaves no empty lock file${noTmpfs ? ` [skipped: ${noTmpfs}]` : ''}`, async (t) => {
  const root = await tempDir('prepare-no-room');
  const data = path.join(root, 'data');
  await manyImages(data, 2, 10, 4);
  const disk = path.join(root, 'disk');
  await fs.mkdir(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
  try {
    // Filled by the test: writing more than the tmpfs holds stops at its last byte.
    await fs.writeFile(path.join(disk, 'filler'), Buffer.alloc(2 << 20)).catch((e: NodeJS.ErrnoException) => t.is(e.code, 'ENOSPC'));
    const full = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', path.join(disk, 'cache')]);
    t.is(full.code, 1);
    t.regex(full.stderr, /no space left on the device of .*disk: free some space, or put the cache .* on another disk/);
    t.notRegex(full.stderr, /may write/);
    t.deepEqual(await fs.readdir(disk), ['filler'], 'no empty lock file left');
  } finally {
    execFileSync('umount', [disk]);
  }
});

test('the same data prepare run again after it finished decodes nothing and leaves the cache as it was; an image touched since prepares it again', async (t) => {
  const root = await tempDir('prepare-again');
  const data = path.join(root, 'data');
  await manyImages(data, 2, 60, 10);
  const out = path.join(root, 'cache');
  const args = ['data', 'prepare', data, '--preset', 'tiny', '--out', out];
  t.is((await alexnet(args)).code, 0);
  // Each file's inode and modification time, read by the test: a cache written again has new ones.
  const stamps = async () => Object.fromEntries(await Promise.all((await fs.readdir(out)).sort().map(async (f) => {
    const st = await fs.stat(path.join(out, f));
    return [f, `${st.ino}:${st.mtimeMs}`];
  })));
  const before = await stamps();
  const again = await alexnet(args);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /is already prepared from these files, unchanged, with these options: nothing to do/);
  t.notRegex(again.stderr, /preparing images/);
  t.regex(again.stdout, /prepared .*"train":120,"val":20/);
  t.deepEqual(await stamps(), before);
  const later = new Date(Date.now() + 5000);
  await fs.utimes(path.join(data, 'train', 'class1', 'img000003.jpg'), later, later);
  const changed = await alexnet(args);
  t.is(changed.code, 0, changed.stderr);
  t.notRegex(changed.stderr, /already prepared/);
  t.notDeepEqual(await stamps(), before);
});

test('--out inside train/ is refused before anything is written (it would become a class folder of no images); a hidden folder there is not listed, so it is used', async (t) => {
  const root = await tempDir('prepare-inside');
  const data = path.join(root, 'data');
  await manyImages(data, 2, 10, 4);
  const before = (await fs.readdir(path.join(data, 'train'))).sort();
  const inside = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', path.join(data, 'train', 'prepared')]);
  t.is(inside.code, 1, inside.stderr);
  t.regex(inside.stderr, /the prepared images cannot go in .*train\/prepared, inside .*train: they would be read as a class folder; choose a place outside it/);
  t.deepEqual((await fs.readdir(path.join(data, 'train'))).sort(), before, 'nothing made in train/');
  const hidden = ['data', 'prepare', data, '--preset', 'tiny', '--out', path.join(data, 'train', '.prepared')];
  t.is((await alexnet(hidden)).code, 0);
  const again = await alexnet(hidden);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /prepared .*"train":20,"val":8/);
});

test('a directory of other files is never written over; an unreadable folder and an empty class exit 1 with a message', async (t) => {
  const root = await tempDir('prepare-refuse');
  const data = path.join(root, 'data');
  await manyImages(data, 2, 10, 4);
  const mine = path.join(root, 'mine');
  await fs.mkdir(mine);
  await fs.writeFile(path.join(mine, 'thesis.txt'), 'years of work');
  const r = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', mine]);
  t.is(r.code, 1);
  t.regex(r.stderr, /exists and is not a prepared data cache: choose another --out/);
  t.is(await fs.readFile(path.join(mine, 'thesis.txt'), 'utf8'), 'years of work');
  const missing = await alexnet(['data', 'prepare', path.join(root, 'nope'), '--preset', 'tiny']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no such directory/);
  await fs.mkdir(path.join(data, 'train', 'empty-class'));
  await fs.mkdir(path.join(data, 'val', 'empty-class'));
  const empty = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', path.join(root, 'c')]);
  t.is(empty.code, 1);
  t.regex(empty.stderr, /empty-class has no \.jpg, \.jpeg, \.jfif, \.png or \.webp images: add images to it, or remove the folder/);
  await fs.writeFile(path.join(data, 'train', 'empty-class', 'IMG_1.HEIC'), 'heic');
  const heic = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', path.join(root, 'c')]);
  t.is(heic.code, 1);
  t.regex(heic.stderr, /empty-class has no .* images \(it holds 1 \.heic\): convert the photos among them to JPEG, or remove the folder/);
  await fs.rm(path.join(data, 'train', 'empty-class'), { recursive: true });
  await fs.rm(path.join(data, 'val', 'empty-class'), { recursive: true });
  // --out in folders that do not exist yet (data/ in a fresh clone): made, as train --out is.
  const nested = path.join(root, 'not', 'yet', 'cache');
  const made = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--out', nested]);
  t.is(made.code, 0, made.stderr);
  t.true(await exists(path.join(nested, 'meta.json')));
});

test('two preparations of one cache at once: the second is refused naming the first, which goes on unharmed', async (t) => {
  const root = await tempDir('prepare-twice');
  const data = path.join(root, 'data');
  await manyImages(data, 2, 1000, 50);
  const out = path.join(root, 'cache');
  const args = ['data', 'prepare', data, '--preset', 'mini', '--out', out, '--workers', '1'];
  const first = startAlexnet(args);
  await appears(path.join(`${out}.partial`, 'journal.json'));
  const second = await alexnet(args);
  t.is(second.code, 1);
  t.regex(second.stderr, new RegExp(`the cache .*cache is in use by process ${first.child.pid} on `));
  const done = await first.done;
  t.is(done.code, 0, done.stderr);
  t.false(await exists(`${out}.lock`), 'the lock goes with the preparation');
  const whole = path.join(root, 'whole');
  t.is((await alexnet(['data', 'prepare', data, '--preset', 'mini', '--out', whole, '--workers', '1'])).code, 0);
  t.deepEqual(await cacheFiles(out), await cacheFiles(whole), 'the same cache as a preparation alone');
});

test('65,537 class folders are refused before any decoding (labels are 16 bits); 65,536 get the ids of their sorted names', async (t) => {
  const root = await tempDir('prepare-classes');
  const data = path.join(root, 'data');
  // Hard links of two files (a file takes at most 65,000 links on ext4).
  const pictures = [path.join(root, 'a.png'), path.join(root, 'b.png')];
  for (const p of pictures) await fs.writeFile(p, await encodeRgb(new Uint8Array(8 * 8 * 3).fill(90), 8, 8, 'png'));
  // Named so that code-unit order differs from creation order; each class one picture, the first two.
  const names = Array.from({ length: 65_537 }, (_, i) => `c${((i * 7919) % 65_537).toString(36)}`);
  await fs.mkdir(path.join(data, 'train'), { recursive: true });
  for (let i = 0; i < names.length; i += 1024) {
    await Promise.all(names.slice(i, i + 1024).map(async (name, k) => {
      const dir = path.join(data, 'train', name);
      await fs.mkdir(dir);
      await fs.link(pictures[(i + k) % 2]!, path.join(dir, 'a.png'));
      if (i + k === 0) await fs.link(pictures[1]!, path.join(dir, 'b.png'));
    }));
  }
  const out = path.join(root, 'cache');
  const r = await alexnet(['data', 'prepare', data, '--preset', 'tiny', '--val-split', '0.5', '--out', out]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /has 65537 class folders: at most 65536 classes can be prepared .*merge classes or split the data/);
  t.false(await exists(out));
  t.false(await exists(`${out}.partial`), 'nothing was decoded');
  // One folder fewer: every image's class id is its folder's place among the names sorted by the test.
  await fs.rm(path.join(data, 'train', names.pop()!), { recursive: true });
  const plan = await planFolder({ data, out, baseSize: 29, valSplit: 0.5 });
  const sorted = [...names].sort();
  t.deepEqual(plan.classes, sorted);
  const id = new Map(sorted.map((n, i) => [n, i]));
  t.true(plan.items.every((it) => it.label === id.get(path.basename(path.dirname(it.path)))));
  t.is(Math.max(...plan.items.map((it) => it.label)), 65_535);
});
