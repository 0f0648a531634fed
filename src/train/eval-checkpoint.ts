/** `alexnet eval CHECKPOINT`: top-1 / top-5 error of a checkpoint (tfjs) on labelled images, ten crops or the center crop. */
import * as tf from '@tensorflow/tfjs-core';
import { readCheckpoint } from '../model/checkpoint.js';
import { useBackend } from './backends.js';
import { BatchPipeline } from './batch-pipeline.js';
import { EvalTally, type EvalResult } from './count-errors.js';
import { averagedSoftmax, imagesPerEvalBatch } from './evaluate.js';
import { loadLabelledImages, mapLabels, type EvalChoices, type LabelledImages } from './labelled-images.js';
import { toTfjs } from './network.js';

/** A checkpoint's mean as a baseSize x baseSize x 3 image (a per-channel mean is repeated). */
export function meanImageOf(mean: { kind: 'channel'; values: number[] } | { kind: 'image' }, tensor: Float32Array | undefined, baseSize: number): Float32Array {
  if (mean.kind === 'image') return tensor!;
  const out = new Float32Array(baseSize * baseSize * 3);
  for (let i = 0; i < out.length; i++) out[i] = mean.values[i % 3]!;
  return out;
}

export async function evalCheckpoint(location: string, dataDir: string, center: boolean, backend: string, choices: EvalChoices = {}): Promise<EvalResult> {
  const ck = await readCheckpoint(location);
  const spec = ck.network;
  const data = await loadLabelledImages(dataDir, spec.baseSize, choices.split, choices.cacheDir);
  try {
    return await evalOn(ck, data, center, backend, choices.onProgress);
  } finally {
    await data.dispose();
  }
}

async function evalOn(ck: Awaited<ReturnType<typeof readCheckpoint>>, data: LabelledImages, center: boolean, backend: string, onProgress?: (done: number, total: number) => void): Promise<EvalResult> {
  const spec = ck.network;
  const tally = new EvalTally(mapLabels(data, ck), ck.classes);
  const used = await useBackend(backend as Parameters<typeof useBackend>[0]);
  const params = toTfjs(ck.tensors.values(), false);
  const mean = meanImageOf(ck.mean as never, ck.tensors.get('mean')?.data, spec.baseSize);
  // No lighting noise in evaluation crops: a PCA of zero eigenvalues.
  const pipe = new BatchPipeline({ split: data.split, mean, baseSize: spec.baseSize, inputSize: spec.inputSize, pca: { eigenvalues: [0, 0, 0], eigenvectors: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
  const mode = center ? 'center' : 'ten';
  const per = center ? 1 : 10;
  const order = Int32Array.from({ length: data.split.count }, (_, i) => i);
  // The paper's batch of 128 crops at a time: 12 images of ten crops.
  const images = imagesPerEvalBatch(mode, 128);
  try {
    for await (const b of pipe.batches(order, images, mode, 0)) {
      const x = tf.tensor4d(b.x, [b.size * per, spec.inputSize, spec.inputSize, 3]);
      const probs = await averagedSoftmax(spec, params, x, per);
      x.dispose();
      tally.add(probs, b.index * images, b.size);
      onProgress?.(b.index * images + b.size, data.split.count);
    }
  } finally {
    await pipe.close();
  }
  return tally.result(mode, `tfjs ${used.name}`, ck.labels, data.description, ck.classIds);
}
