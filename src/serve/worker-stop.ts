/**
 * Stopping an inference worker (main thread) without aborting the process.
 *
 * session.run() is synchronous native code on the worker's thread. worker.terminate() during it
 * does not stop it: when it returns, onnxruntime-node's binding finds the thread terminating, cannot
 * hand its result or its Napi::Error to JavaScript, and the C++ exception escapes: "terminate
 * called after throwing an instance of 'Napi::Error'", and the whole process aborts (exit 134).
 * That is what a shutdown past its grace did while a stream kept batches running.
 *
 * So a worker is asked to stop itself: it finishes the run under way (one batch, so bounded by
 * --max-batch; the engine sends it nothing new once closing), answers it, releases its sessions
 * (under the run lock where there is one, gpu-run-lock.ts: a session torn down with its thread
 * would touch WebGPU's shared context while another runs) and ends its thread. Only a worker that
 * has not done so within `backstopMs` (a run that never ends) is terminated regardless.
 */
import type { Worker } from 'node:worker_threads';
import { releaseRunLockOf } from './gpu-run-lock.js';

/** The message asking a worker to finish its run, release its sessions and end its thread. */
export const CLOSE_SESSIONS = 'close-sessions';

/** Far above any batch's run: reached only by a worker that no longer answers. */
const BACKSTOP_MS = 30_000;

export async function stopWorker(worker: Worker, workerThreadId: number, lock: SharedArrayBuffer | undefined, backstopMs = BACKSTOP_MS): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, backstopMs);
    worker.once('exit', () => (clearTimeout(timer), resolve()));
    worker.postMessage(CLOSE_SESSIONS);
  });
  await worker.terminate();
  // A thread terminated holding the lock (the backstop) cannot free it itself.
  releaseRunLockOf(lock, workerThreadId);
}
