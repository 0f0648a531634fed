/**
 * One inference worker thread: its own onnxruntime sessions on the two exported models
 * (session.run() blocks the thread it runs on, so it never runs on the server's event loop).
 *
 * A batch arrives as n decoded images (baseSize x baseSize x 3 uint8, back to back, transferred, not
 * copied). TEN_CROP feeds them as they are to the ten-crop model, which does the mean
 * subtraction, the ten crops and the averaging in its graph; CENTER cuts the center crops here
 * and feeds the single-crop model. A part of a split ten-crop call (one image, some of its ten
 * crops: `crops` indexes the order of `tenCropSpecs`) cuts those crops here and feeds the
 * single-crop model, answering each crop's own softmax and fc7 for the engine to average.
 * Outputs are checked finite before they go back.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { centerCropsNchw, cropsNchw, tenCropSpecs } from '../image/crops.js';
import type { ModelFiles } from '../model/model-files.js';
import { withRunLock } from './gpu-run-lock.js';
import { CLOSE_SESSIONS } from './worker-stop.js';

export type CropModeName = 'ten' | 'center';

export interface InferenceWorkerData {
  /** The model as `openModel` returned it: both files' paths and the metadata (sizes, mean). */
  model: ModelFiles;
  provider: string;
  intraOpThreads: number;
  /** This thread's nice value (Linux: per thread), set before the sessions start their threads, which inherit it. */
  nice: number;
  /** Held around each run where runs must not overlap across workers (gpu-run-lock.ts). */
  runLock?: SharedArrayBuffer;
}

export interface InferenceRequest {
  id: number;
  /** 'part': `crops` of the ten crops of one image (n = 1), each answered on its own. */
  mode: CropModeName | 'part';
  n: number;
  images: Uint8Array;
  crops?: number[];
}

/** One image's answer: its softmax and its fc7 vector. */
export interface InferenceResult {
  probabilities: Float32Array;
  embedding: Float32Array;
}

export type InferenceReply =
  | { id: number; ok: true; probabilities: Float32Array; embeddings: Float32Array; ms: number }
  | { id: number; ok: false; message: string };

const data = workerData as InferenceWorkerData;
// Below the main thread (gRPC, admission) and the decoders: a refusal or a decode is never queued behind a batch.
if (data.nice !== 0) setPriority(data.nice);
const options: ort.InferenceSession.SessionOptions = {
  executionProviders: [data.provider],
  intraOpNumThreads: data.intraOpThreads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  // The arena would keep the memory of the largest batch ever seen for the process's life.
  enableCpuMemArena: false,
};

// One after the other, under the run lock where there is one (gpu-run-lock.ts).
const [single, ten] = await withRunLock(data.runLock, async () => {
  const first = await ort.InferenceSession.create(data.model.singleCropPath, options);
  return [first, await ort.InferenceSession.create(data.model.tenCropPath, options)] as const;
});

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

async function run(req: InferenceRequest): Promise<InferenceReply> {
  const t0 = performance.now();
  const { n, images } = req;
  const { baseSize, inputSize, mean } = data.model.metadata;
  let feeds: Record<string, ort.Tensor>;
  if (req.mode === 'ten') {
    feeds = { images: new ort.Tensor('uint8', images, [n, baseSize, baseSize, 3]) };
  } else if (req.mode === 'center') {
    feeds = { input: new ort.Tensor('float32', centerCropsNchw(images, n, baseSize, inputSize, mean), [n, 3, inputSize, inputSize]) };
  } else {
    const specs = tenCropSpecs(baseSize, inputSize);
    const chosen = req.crops!.map((i) => specs[i]!);
    feeds = { input: new ort.Tensor('float32', cropsNchw(images, n, baseSize, inputSize, mean, chosen), [n * chosen.length, 3, inputSize, inputSize]) };
  }
  const out = await withRunLock(data.runLock, () => (req.mode === 'ten' ? ten : single).run(feeds));
  const probabilities = out.probabilities!.data as Float32Array;
  const embeddings = out.fc7!.data as Float32Array;
  if (!allFinite(probabilities) || !allFinite(embeddings)) {
    return { id: req.id, ok: false, message: 'the model produced NaN or infinite values' };
  }
  return { id: req.id, ok: true, probabilities, embeddings, ms: performance.now() - t0 };
}

// The run under way, if any: a close waits for it (taking the lock this thread holds would block it,
// and a session released or a thread ended under a run aborts the process: worker-stop.ts).
let running: Promise<unknown> = Promise.resolve();
parentPort!.on('message', (req: InferenceRequest | typeof CLOSE_SESSIONS) => {
  if (req === CLOSE_SESSIONS) {
    void running
      .then(() => withRunLock(data.runLock, async () => {
        await single.release();
        await ten.release();
      }))
      .finally(() => process.exit(0)); // in a worker: ends this thread only
    return;
  }
  running = run(req).then(
    (reply) => {
      const transfer = reply.ok ? [reply.probabilities.buffer as ArrayBuffer, reply.embeddings.buffer as ArrayBuffer] : [];
      parentPort!.postMessage(reply, transfer);
    },
    (e: unknown) => parentPort!.postMessage({ id: req.id, ok: false, message: String((e as Error)?.message ?? e) } satisfies InferenceReply),
  );
});
parentPort!.postMessage({ ready: true });
