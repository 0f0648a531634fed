/**
 * The lock of a run directory, a cache or an index folder: who counts as its live holder. The
 * oracles are what the test makes (lock files written by hand, a child process of its own, its
 * start time read from /proc here) and the file's modification time set with utimes.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockHeldError, lockHolder, takeLock } from '../../src/util/dir-lock.js';
import { tempDir } from '../temp-dir.js';

const linux = process.platform === 'linux' ? test : test.skip;

const write = (file: string, holder: object) => fs.writeFile(file, JSON.stringify({ since: new Date().toISOString(), ...holder }));

test('a lock naming this very pid that this process never took (a container restarted) is taken over; one it holds is refused', async (t) => {
  const file = path.join(await tempDir('dir-lock-self'), 'x.lock');
  await write(file, { pid: process.pid, host: os.hostname() });
  const release = await takeLock(file, 'the folder');
  await t.throwsAsync(takeLock(file, 'the folder'), { instanceOf: LockHeldError, message: new RegExp(`in use by process ${process.pid}`) });
  release();
  await t.throwsAsync(fs.access(file));
});

test("another machine's lock is held while it is touched, taken over once untouched for a minute", async (t) => {
  const file = path.join(await tempDir('dir-lock-host'), 'x.lock');
  await write(file, { pid: 1, host: 'another-machine' });
  await t.throwsAsync(takeLock(file, 'the folder'), { instanceOf: LockHeldError, message: /process 1 on another-machine/ });
  const old = new Date(Date.now() - 61_000);
  await fs.utimes(file, old, old);
  t.is(await lockHolder(file), undefined);
  const release = await takeLock(file, 'the folder');
  t.is(JSON.parse(await fs.readFile(file, 'utf8')).pid, process.pid);
  release();
});

test('a held lock is touched every heartbeat, so another machine sees it live', async (t) => {
  const file = path.join(await tempDir('dir-lock-beat'), 'x.lock');
  const release = await takeLock(file, 'the folder', 50);
  t.teardown(release);
  const old = new Date(Date.now() - 600_000);
  await fs.utimes(file, old, old);
  await new Promise((r) => setTimeout(r, 300));
  t.true(Date.now() - (await fs.stat(file)).mtimeMs < 10_000);
});

linux('a pid another process has now (its start time differs) is no holder; the same process is', async (t) => {
  const dir = await tempDir('dir-lock-pid');
  const child = spawn('sleep', ['30']);
  t.teardown(() => child.kill());
  await once(child, 'spawn');
  // The oracle: the boot id and field 22 of /proc/<pid>/stat, read here.
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^\d+ \(.*\) /s, '').split(' ');
  const start = `${boot}:${fields[22 - 3]}`;
  const reused = path.join(dir, 'reused.lock');
  await write(reused, { pid: child.pid, host: os.hostname(), start: `${boot}:1` });
  (await takeLock(reused, 'the folder'))();
  const live = path.join(dir, 'live.lock');
  await write(live, { pid: child.pid, host: os.hostname(), start });
  await t.throwsAsync(takeLock(live, 'the folder'), { instanceOf: LockHeldError, message: new RegExp(`process ${child.pid}`) });
  // A lock of an older version (no start time) of a live pid stays held.
  await write(live, { pid: child.pid, host: os.hostname() });
  t.is((await lockHolder(live))?.pid, child.pid);
});
