/**
 * One inference worker thread: its own onnxruntime sessions on the two exported models
 * (session.run() blocks the thread it runs on, so it never runs on the server's event loop).
 *
 * A batch arrives as n encoded image files (back to back in one transferred buffer). The worker
 * decodes them all (the shared image module, sharp: base x base x 3 uint8 each), and only then
 * runs the model: decoding and inference take turns instead of competing for the same cores.
 * An image that fails to decode is reported alone (its index, kind and message) and the others
 * run. TEN_CROP feeds the decoded images as they are to the ten-crop model, which does the mean
 * subtraction, the ten crops and the averaging in its graph; CENTER cuts the centre crops here
 * and feeds the single-crop model. Outputs are checked finite before they go back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { ImageTooLargeError, InvalidImageError } from '../errors.js';
import { centreCropsNchw } from '../image/crops.js';
import { decodeToSquare } from '../image/decode.js';
import type { ModelMean } from '../model/onnx-metadata.js';

export type CropModeName = 'ten' | 'centre';

export interface InferenceWorkerData {
  singleCropModel: string;
  tenCropModel: string;
  provider: string;
  intraOpThreads: number;
  base: number;
  crop: number;
  mean: ModelMean;
  /** Largest accepted width*height of an image, checked from its header before decoding. */
  maxPixels: number;
}

export interface InferenceRequest {
  id: number;
  mode: CropModeName;
  /** The encoded files back to back; file i is files[offsets[i] .. offsets[i+1]). */
  files: Uint8Array;
  offsets: number[];
}

/** An image of the batch that could not be decoded; `kind` names the error class the decoder threw. */
export interface DecodeFailure {
  index: number;
  kind: 'invalid' | 'too-large' | 'internal';
  message: string;
}

export type InferenceReply =
  | {
      id: number;
      ok: true;
      /** Classes (and fc7 features) of the decoded images, packed in request order without the failures. */
      probabilities: Float32Array;
      embeddings: Float32Array;
      failures: DecodeFailure[];
      /** Milliseconds in the batch, of which decoding. */
      ms: number;
      decodeMs: number;
    }
  | { id: number; ok: false; message: string };

const data = workerData as InferenceWorkerData;
const options: ort.InferenceSession.SessionOptions = {
  executionProviders: [data.provider],
  intraOpNumThreads: data.intraOpThreads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  // The arena would keep the memory of the largest batch ever seen for the process's life.
  enableCpuMemArena: false,
};

const [single, ten] = await Promise.all([
  ort.InferenceSession.create(data.singleCropModel, options),
  ort.InferenceSession.create(data.tenCropModel, options),
]);

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** Decode every file of the batch at once (sharp runs them on libuv's pool), in order; failures kept apart. */
async function decodeBatch(req: InferenceRequest): Promise<{ images: Uint8Array; n: number; failures: DecodeFailure[] }> {
  const count = req.offsets.length - 1;
  const px = data.base * data.base * 3;
  const settled = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      decodeToSquare(req.files.subarray(req.offsets[i]!, req.offsets[i + 1]!), { size: data.base, maxPixels: data.maxPixels }),
    ),
  );
  const failures: DecodeFailure[] = [];
  const images = new Uint8Array((count - settled.filter((r) => r.status === 'rejected').length) * px);
  let n = 0;
  settled.forEach((r, index) => {
    if (r.status === 'fulfilled') {
      images.set(r.value.data, n++ * px);
    } else {
      const e = r.reason as Error;
      const kind = e instanceof ImageTooLargeError ? 'too-large' : e instanceof InvalidImageError ? 'invalid' : 'internal';
      failures.push({ index, kind, message: String(e?.message ?? e) });
    }
  });
  return { images, n, failures };
}

async function run(req: InferenceRequest): Promise<InferenceReply> {
  const t0 = performance.now();
  const { images, n, failures } = await decodeBatch(req);
  const decodeMs = performance.now() - t0;
  if (n === 0) return { id: req.id, ok: true, probabilities: new Float32Array(0), embeddings: new Float32Array(0), failures, ms: decodeMs, decodeMs };
  const feeds: Record<string, ort.Tensor> =
    req.mode === 'ten'
      ? { images: new ort.Tensor('uint8', images, [n, data.base, data.base, 3]) }
      : { input: new ort.Tensor('float32', centreCropsNchw(images, n, data.base, data.crop, data.mean), [n, 3, data.crop, data.crop]) };
  const out = await (req.mode === 'ten' ? ten : single).run(feeds);
  const probabilities = out.probabilities!.data as Float32Array;
  const embeddings = out.fc7!.data as Float32Array;
  if (!allFinite(probabilities) || !allFinite(embeddings)) {
    return { id: req.id, ok: false, message: 'the model produced NaN or infinite values' };
  }
  return { id: req.id, ok: true, probabilities, embeddings, failures, ms: performance.now() - t0, decodeMs };
}

parentPort!.on('message', (req: InferenceRequest) => {
  run(req).then(
    (reply) => {
      const transfer = reply.ok ? [reply.probabilities.buffer as ArrayBuffer, reply.embeddings.buffer as ArrayBuffer] : [];
      parentPort!.postMessage(reply, transfer);
    },
    (e: unknown) => parentPort!.postMessage({ id: req.id, ok: false, message: String((e as Error)?.message ?? e) } satisfies InferenceReply),
  );
});
parentPort!.postMessage({ ready: true });
