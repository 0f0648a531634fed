/**
 * Worker thread: reads a batch's images from the data cache (positional reads of their records,
 * JPEG ones decoded here) and cuts augmented or evaluation crops out of them. Runs while the
 * main thread trains on the previous batch (the paper's CPU/GPU overlap, §4.1).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { cutCrop, randomCropSpec, tenCropSpecs, centerCropSpec, type Mean } from '../image/crops.js';
import { lightingShift, type RgbPca } from '../image/pca.js';
import { Rng } from '../util/rng.js';
import { RecordReader, type Split } from './data-cache.js';

export interface BatchWorkerData {
  split: Split;
  mean: Float32Array;
  baseSize: number;
  inputSize: number;
  pca: RgbPca;
  lightingStd: number;
}

/** train: one random crop + flip + PCA lighting per image; center: one center crop; ten: ten crops per image. */
export type CropMode = 'train' | 'center' | 'ten';

export interface BatchRequest {
  id: number;
  indices: Int32Array;
  mode: CropMode;
  seed: number;
}

export interface BatchReply {
  id: number;
  /** [n * crops, inputSize, inputSize, 3] float32, HWC, mean subtracted; for 'ten', image-major. */
  x: Float32Array;
  labels: Int32Array;
}

const data = workerData as BatchWorkerData;
const mean: Mean = { kind: 'image', data: data.mean };
const cropPx = data.inputSize * data.inputSize * 3;
const reader = new RecordReader(data.split, data.baseSize);

export async function makeBatch(req: BatchRequest): Promise<BatchReply> {
  const rng = new Rng(req.seed);
  const per = req.mode === 'ten' ? 10 : 1;
  const x = new Float32Array(req.indices.length * per * cropPx);
  const labels = new Int32Array(req.indices.length);
  const ten = tenCropSpecs(data.baseSize, data.inputSize);
  // The reads and decodes of the whole batch at once (JPEG ones run on libuv's pool), then the crops in order.
  const images = await Promise.all(Array.from(req.indices, (index) => reader.read(index)));
  req.indices.forEach((index, i) => {
    const image = images[i]!;
    labels[i] = data.split.labels[index]!;
    if (req.mode === 'train') {
      const spec = randomCropSpec(data.baseSize, data.inputSize, rng);
      const shift = lightingShift(data.pca, rng, data.lightingStd);
      cutCrop(image, data.baseSize, data.inputSize, spec, mean, x, i * cropPx, shift);
    } else if (req.mode === 'center') {
      cutCrop(image, data.baseSize, data.inputSize, centerCropSpec(data.baseSize, data.inputSize), mean, x, i * cropPx);
    } else {
      ten.forEach((spec, k) => cutCrop(image, data.baseSize, data.inputSize, spec, mean, x, (i * 10 + k) * cropPx));
    }
  });
  return { id: req.id, x, labels };
}

parentPort?.on('message', (req: BatchRequest) => {
  makeBatch(req).then(
    (reply) => parentPort!.postMessage(reply, [reply.x.buffer as ArrayBuffer, reply.labels.buffer as ArrayBuffer]),
    (e: unknown) => parentPort!.postMessage({ id: req.id, error: String((e as Error)?.message ?? e) }),
  );
});
