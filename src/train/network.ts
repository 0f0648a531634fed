/**
 * AlexNet's forward pass in TensorFlow.js ops, driven by a NetworkSpec (NHWC throughout).
 *
 * tfjs has no grouped convolution: a 2-group layer splits its input maps in two halves and its
 * kernels in two halves, convolves each half with its kernels and concatenates the results,
 * which is the paper's two-GPU layout and ONNX's Conv(group=2).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradients; the union package registers them all (into
// tfjs's global registry, shared with tfjs-core).
import '@tensorflow/tfjs';
import type { NetworkSpec } from '../config.js';
import { lrnToTfjs } from '../model/lrn.js';
import type { NamedTensor } from '../model/tensor.js';

export type Params = Map<string, tf.Tensor>;

export interface ForwardOptions {
  /** Training mode applies dropout to fc6 and fc7; evaluation mode does not (§4.2). */
  training: boolean;
  /** Seed of the dropout masks (training mode only). */
  dropoutSeed?: number;
}

export interface ForwardResult {
  /** [N, classes] pre-softmax scores of fc8. */
  logits: tf.Tensor2D;
  /** [N, fcUnits[1]] fc7 activations after ReLU (the §6.1 feature vector). */
  fc7: tf.Tensor2D;
}

/** A convolution with `groups` independent groups: x [N,H,W,C], w [kh,kw,C/groups,F], b [F]. */
export function groupedConv2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, stride: number, pad: number, groups: number): tf.Tensor4D {
  return tf.tidy(() => {
    if (groups === 1) return tf.add(tf.conv2d(x, w, stride, pad), b);
    const xs = tf.split(x, groups, 3);
    const ws = tf.split(w, groups, 3);
    const ys = xs.map((xi, g) => tf.conv2d(xi as tf.Tensor4D, ws[g] as tf.Tensor4D, stride, pad));
    return tf.add(tf.concat(ys, 3), b);
  });
}

/** x: [N, S, S, 3] float, mean already subtracted. */
export function forward(spec: NetworkSpec, params: Params, x: tf.Tensor4D, options: ForwardOptions): ForwardResult {
  const lrn = lrnToTfjs(spec.lrn);
  const p = (name: string): tf.Tensor => {
    const t = params.get(name);
    if (!t) throw new Error(`parameter ${name} is missing`);
    return t;
  };
  return tf.tidy(() => {
    let h: tf.Tensor4D = x; // [N, S, S, 3]
    for (const c of spec.conv) {
      h = groupedConv2d(h, p(`${c.name}.weight`) as tf.Tensor4D, p(`${c.name}.bias`) as tf.Tensor1D, c.stride, c.pad, c.groups);
      h = tf.relu(h);
      if (c.lrn) h = tf.localResponseNormalization(h, lrn.depthRadius, lrn.bias, lrn.alpha, lrn.beta);
      if (c.pool) h = tf.maxPool(h, spec.pool.size, spec.pool.stride, 'valid');
    } // paper: [N, 6, 6, 256]
    const n = h.shape[0];
    let f: tf.Tensor2D = tf.reshape(h, [n, -1]); // [N, 9216] in (h, w, c) order
    let seed = options.dropoutSeed ?? 0;
    const dense = (name: string, input: tf.Tensor2D): tf.Tensor2D =>
      tf.add(tf.matMul(input, p(`${name}.weight`) as tf.Tensor2D), p(`${name}.bias`));
    f = tf.relu(dense('fc6', f));
    if (options.training && spec.dropout > 0) f = tf.dropout(f, spec.dropout, undefined, seed++) as tf.Tensor2D;
    f = tf.relu(dense('fc7', f));
    const fc7 = f; // [N, 4096]
    if (options.training && spec.dropout > 0) f = tf.dropout(f, spec.dropout, undefined, seed++) as tf.Tensor2D;
    const logits = dense('fc8', f); // [N, classes]
    return { logits, fc7 };
  });
}

/** Upload checkpoint tensors as tfjs variables (trainable) or constants. */
export function toTfjs(tensors: Iterable<NamedTensor>, trainable: boolean): Params {
  const out: Params = new Map();
  for (const t of tensors) {
    const value = tf.tensor(t.data, t.shape, 'float32');
    // Unnamed: tfjs variable names are global, and several models may live in one process.
    out.set(t.name, trainable ? tf.variable(value, true) : value);
    if (trainable) value.dispose();
  }
  return out;
}

/** Download tfjs tensors into checkpoint tensors. */
export async function fromTfjs(params: Params): Promise<NamedTensor[]> {
  const out: NamedTensor[] = [];
  for (const [name, t] of params) out.push({ name, shape: [...t.shape], data: (await t.data()) as Float32Array });
  return out;
}
