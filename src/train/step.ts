/**
 * One training step: forward in training mode (dropout), softmax cross-entropy (§5's
 * multinomial logistic regression), gradients of every parameter, the paper's SGD update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NetworkSpec } from '../config.js';
import { forward } from './network.js';
import type { PaperSgd } from './sgd.js';

/** Mean softmax cross-entropy of logits [N, C] against integer labels [N]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), classes);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** Gradients of the loss for one batch; x [N,S,S,3] mean-subtracted, labels [N] int32. */
export function lossAndGradients(
  spec: NetworkSpec,
  params: Map<string, tf.Variable>,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  dropoutSeed: number | undefined,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const training = dropoutSeed !== undefined;
  const varList = [...params.values()];
  const { value, grads: byId } = tf.variableGrads(() => {
    const { logits, fc7 } = forward(spec, params, x, { training, ...(training ? { dropoutSeed } : {}) });
    fc7.dispose();
    return crossEntropy(logits, labels);
  }, varList);
  // variableGrads keys gradients by the variables' (auto-generated) names: map back to ours.
  const grads: Record<string, tf.Tensor> = {};
  for (const [name, v] of params) {
    const g = byId[v.name];
    if (g) grads[name] = g;
  }
  return { loss: value, grads };
}

/** One step of SGD; returns the batch's loss (read asynchronously: WebGPU cannot read synchronously in Node). */
export async function trainStep(
  spec: NetworkSpec,
  params: Map<string, tf.Variable>,
  sgd: PaperSgd,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  dropoutSeed: number,
): Promise<number> {
  const { loss, grads } = lossAndGradients(spec, params, x, labels, dropoutSeed);
  sgd.apply(params, grads);
  for (const g of Object.values(grads)) g.dispose();
  const value = (await loss.data())[0]!;
  loss.dispose();
  return value;
}
