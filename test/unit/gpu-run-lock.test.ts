/**
 * The run lock of src/serve/gpu-run-lock.ts with real worker threads and no GPU: bodies that
 * await (as session.run does) never overlap across threads, a lock held by a thread that is
 * terminated is freed by releaseRunLockOf, and providers whose runs may overlap get no lock.
 */
import test from 'ava';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { releaseRunLockOf, runLockFor } from '../../src/serve/gpu-run-lock.js';

const LOCK_MODULE = new URL('../../src/serve/gpu-run-lock.js', import.meta.url).href;

/**
 * A worker running `rounds` bodies under the lock; each body marks itself inside (counter at
 * index 1), records the most seen inside at once (index 2), waits a little asynchronously, leaves.
 */
function contender(lock: SharedArrayBuffer, counters: SharedArrayBuffer, rounds: number): Worker {
  const source = `
    const { workerData, parentPort } = await import('node:worker_threads');
    const { withRunLock } = await import(${JSON.stringify(LOCK_MODULE)});
    const c = new Int32Array(workerData.counters);
    for (let r = 0; r < workerData.rounds; r++) {
      await withRunLock(workerData.lock, async () => {
        const inside = Atomics.add(c, 1, 1) + 1;
        for (;;) { const m = Atomics.load(c, 2); if (inside <= m || Atomics.compareExchange(c, 2, m, inside) === m) break; }
        await new Promise((resolve) => setTimeout(resolve, 1));
        Atomics.sub(c, 1, 1);
      });
    }
    parentPort.postMessage('done');`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), { workerData: { lock, counters, rounds } });
}

test('bodies under the lock never overlap across 4 threads (each awaiting inside), and every one runs', async (t) => {
  const lock = new SharedArrayBuffer(4);
  const counters = new SharedArrayBuffer(12);
  const workers = Array.from({ length: 4 }, () => contender(lock, counters, 25));
  await Promise.all(workers.map((w) => once(w, 'message')));
  await Promise.all(workers.map((w) => w.terminate()));
  const c = new Int32Array(counters);
  t.is(c[2], 1, 'at most one body inside at once');
  t.is(c[1], 0);
  t.is(new Int32Array(lock)[0], 0, 'free at the end');
});

test('without the lock the same bodies do overlap (the test can tell)', async (t) => {
  const counters = new SharedArrayBuffer(12);
  // An unshared lock per worker: each thread holds its own, nothing is excluded.
  const workers = Array.from({ length: 4 }, () => contender(new SharedArrayBuffer(4), counters, 25));
  await Promise.all(workers.map((w) => once(w, 'message')));
  await Promise.all(workers.map((w) => w.terminate()));
  t.true(new Int32Array(counters)[2]! > 1);
});

test('a lock held by a terminated thread is freed by releaseRunLockOf, and only by its holder', async (t) => {
  const lock = new SharedArrayBuffer(4);
  const source = `
    const { workerData, parentPort } = await import('node:worker_threads');
    const { withRunLock } = await import(${JSON.stringify(LOCK_MODULE)});
    withRunLock(workerData.lock, () => { parentPort.postMessage('holding'); return new Promise(() => {}); });`;
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), { workerData: { lock } });
  const id = w.threadId;
  await once(w, 'message');
  t.is(new Int32Array(lock)[0], id + 1, 'held by the worker');
  await w.terminate();
  releaseRunLockOf(lock, id + 1000); // another thread's id: not its to free
  t.is(new Int32Array(lock)[0], id + 1);
  releaseRunLockOf(lock, id);
  t.is(new Int32Array(lock)[0], 0);
});

test('only the WebGPU provider gets a lock, one per process', (t) => {
  t.is(runLockFor('cpu'), undefined);
  t.is(runLockFor('cuda'), undefined);
  t.truthy(runLockFor('webgpu'));
  t.is(runLockFor('webgpu'), runLockFor('webgpu'));
});
