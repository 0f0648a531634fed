/**
 * Top-1 / top-5 error of the network on a split, with the center crop or the ten crops of §5
 * (softmax averaged over the ten).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NetworkSpec } from '../config.js';
import type { BatchPipeline } from './batch-pipeline.js';
import { countErrors } from './count-errors.js';
import type { ErrorRates } from './epoch-metrics.js';
import { forward, type Params } from './network.js';

/** Averaged softmax [n, C] for a batch of crops x [n*per, S, S, 3] (image-major). */
export async function averagedSoftmax(spec: NetworkSpec, params: Params, x: tf.Tensor4D, per: number): Promise<Float32Array> {
  const averaged = tf.tidy(() => {
    const { logits } = forward(spec, params, x, { training: false });
    const probs = tf.softmax(logits);
    const n = probs.shape[0] / per;
    return tf.mean(tf.reshape(probs, [n, per, -1]), 1);
  });
  const values = (await averaged.data()) as Float32Array;
  averaged.dispose();
  return values;
}

/**
 * Images per evaluation batch so that a batch is at most `crops` crops: ten crops of 64 images
 * are 640 crops at once, whose paper-size activations (conv2's LRN input alone, 640 x 27 x 27 x
 * 256 floats, is 478 MB) overflow the wasm backend's heap. The training batch's size is known to fit.
 */
export const imagesPerEvalBatch = (mode: 'center' | 'ten', crops: number): number => Math.max(1, Math.floor(crops / (mode === 'ten' ? 10 : 1)));

/** The errors over the split; undefined when `signal` stopped it before the end. */
export async function evaluateSplit(
  spec: NetworkSpec,
  params: Params,
  pipeline: BatchPipeline,
  order: Int32Array,
  mode: 'center' | 'ten',
  classes: number,
  crops = 128,
  signal?: AbortSignal,
): Promise<ErrorRates | undefined> {
  const per = mode === 'ten' ? 10 : 1;
  const s = spec.inputSize;
  const batchImages = imagesPerEvalBatch(mode, crops);
  let top1 = 0;
  let top5 = 0;
  for await (const batch of pipeline.batches(order, batchImages, mode, 0)) {
    // Stopped (Ctrl-C): a validation of a big split takes long; the caller saves and validates on resume.
    if (signal?.aborted) return undefined;
    const x = tf.tensor4d(batch.x, [batch.size * per, s, s, 3]);
    const probs = await averagedSoftmax(spec, params, x, per);
    x.dispose();
    const e = countErrors(probs, classes, batch.labels);
    top1 += e.top1;
    top5 += e.top5;
  }
  return { top1: top1 / order.length, top5: top5 / order.length, count: order.length };
}
