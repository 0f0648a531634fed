/**
 * One onnxruntime session of bench:serve's ceiling (bench/serve.ts), in a worker thread of its
 * own as a server's inference worker is: the bench starts as many of these as the layout has
 * workers, so that sessions which would share the cores in a server share them here too.
 *
 * Each 'measure' message: run batches of `batch` of the pre-decoded images on the ten-crop model
 * for `warmupSeconds`, then for `seconds` (at least two batches), and answer with the images/s.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { withRunLock } from '../src/serve/gpu-run-lock.js';

export interface CeilingWorkerData {
  model: string;
  threads: number;
  /** onnxruntime execution provider (cpu, webgpu). */
  provider: string;
  base: number;
  /** The decoded images (base x base x 3 each). */
  images: Uint8Array[];
  /** The server's run lock for this provider (src/serve/gpu-run-lock.ts): runs and session creation take it as a server's do. */
  runLock?: SharedArrayBuffer;
}

export interface CeilingRequest {
  batch: number;
  warmupSeconds: number;
  seconds: number;
}

const data = workerData as CeilingWorkerData;
// The session options of src/serve/inference-worker.ts.
const session = await withRunLock(data.runLock, () =>
  ort.InferenceSession.create(data.model, {
    executionProviders: [data.provider],
    intraOpNumThreads: data.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: false,
  }),
);
const run = (images: ort.Tensor) => withRunLock(data.runLock, () => session.run({ images }));
const px = data.base * data.base * 3;

async function measure({ batch, warmupSeconds, seconds }: CeilingRequest): Promise<number> {
  const count = data.images.length;
  const batches = Array.from({ length: Math.ceil(count / batch) }, (_, b) => {
    const images = new Uint8Array(batch * px);
    for (let i = 0; i < batch; i++) images.set(data.images[(b * batch + i) % count]!, i * px);
    return new ort.Tensor('uint8', images, [batch, data.base, data.base, 3]);
  });
  let runs = 0;
  const warmEnd = performance.now() + warmupSeconds * 1000;
  while (performance.now() < warmEnd || runs < 1) await run(batches[runs++ % batches.length]!);
  const t0 = performance.now();
  let timed = 0;
  while (timed < 2 || performance.now() - t0 < seconds * 1000) await run(batches[timed++ % batches.length]!);
  return (timed * batch) / ((performance.now() - t0) / 1000);
}

parentPort!.on('message', (req: CeilingRequest) => {
  measure(req).then(
    (rate) => parentPort!.postMessage({ rate }),
    (e: unknown) => parentPort!.postMessage({ error: String((e as Error)?.message ?? e) }),
  );
});
parentPort!.postMessage({ ready: true });
