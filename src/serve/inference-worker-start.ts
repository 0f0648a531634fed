/**
 * Starting one inference worker thread (inference-worker.ts): resolved once its sessions are
 * loaded ("ready"); after that its replies and its death go to the engine's handlers.
 */
import { Worker } from 'node:worker_threads';
import type { InferenceReply, InferenceWorkerData } from './inference-worker.js';

export interface WorkerHandlers {
  reply: (m: InferenceReply) => void;
  /** The thread failed or exited after it was ready (an error, or its exit code). */
  ended: (why: Error | number) => void;
}

export function startInferenceWorker(workerData: InferenceWorkerData, on: WorkerHandlers): Promise<Worker> {
  const worker = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData });
  return new Promise<Worker>((resolve, reject) => {
    let ready = false;
    worker.on('message', (m: InferenceReply | { ready: true }) => {
      if ('ready' in m) {
        ready = true;
        resolve(worker);
      } else {
        on.reply(m);
      }
    });
    worker.on('error', (e) => (ready ? on.ended(e) : reject(e)));
    worker.on('exit', (code) => (ready ? on.ended(code) : reject(new Error(`inference worker exited with code ${code} before loading the model`))));
  });
}
