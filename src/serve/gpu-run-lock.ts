/**
 * One onnxruntime run at a time on the WebGPU provider, across every inference worker of the
 * process: the workers of one engine, and those of two model versions during a reload (the new
 * one's warm-up, the old one's last batches).
 *
 * onnxruntime's WebGPU provider shares one WebGPU context per process, and two sessions' run()
 * at the same time corrupt it: an INTERNAL error from a MemcpyToHost node, then a segfault
 * (microsoft/onnxruntime#32561 and #27592, open; reproduced here with `--device webgpu --workers 2`
 * on lavapipe, test/parity/onnx-webgpu.test.ts). Creating sessions concurrently is safe. The GPU
 * runs one batch at a time anyway; with the lock, a second worker still cuts and copies its next
 * batch while the first one's runs.
 *
 * Session creation and release take the lock too: two workers creating their sessions at once
 * crashed here as well (a segfault, or a hang, about one start in three). A stopping worker
 * releases its sessions itself, holding the lock (worker-stop.ts).
 *
 * The lock is an Int32 in a SharedArrayBuffer made once in the main thread and handed to each
 * worker: 0 when free, else the holder's threadId + 1 (the main thread's is 0), so that a worker terminated while holding it
 * (shutdown, a crash) can be released by the engine that ends it.
 */
import { threadId } from 'node:worker_threads';

let shared: SharedArrayBuffer | undefined;

/** The process's lock for `provider`'s workers (main thread), or undefined where runs may overlap. */
export function runLockFor(provider: string): SharedArrayBuffer | undefined {
  if (provider !== 'webgpu') return undefined;
  shared ??= new SharedArrayBuffer(4);
  return shared;
}

/** Run `body` holding the lock (in a worker thread: Atomics.wait blocks it while another holds it). */
export async function withRunLock<T>(lock: SharedArrayBuffer | undefined, body: () => Promise<T>): Promise<T> {
  if (!lock) return body();
  const cell = new Int32Array(lock);
  for (;;) {
    const holder = Atomics.compareExchange(cell, 0, 0, threadId + 1);
    if (holder === 0) break;
    Atomics.wait(cell, 0, holder, 100);
  }
  try {
    return await body();
  } finally {
    Atomics.store(cell, 0, 0);
    Atomics.notify(cell, 0, 1);
  }
}

/** Once the worker with `workerThreadId` has stopped (main thread): free the lock if it held it. */
export function releaseRunLockOf(lock: SharedArrayBuffer | undefined, workerThreadId: number): void {
  if (!lock) return;
  const cell = new Int32Array(lock);
  if (Atomics.compareExchange(cell, 0, workerThreadId + 1, 0) === workerThreadId + 1) Atomics.notify(cell, 0, 1);
}
