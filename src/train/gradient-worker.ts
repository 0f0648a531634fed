/**
 * A gradient worker thread for data-parallel training on CPU backends (tfjs-backend-wasm runs
 * on one thread in Node): it holds a copy of the parameters, and for each request sets them to
 * the values sent, computes the loss and the gradients of its shard of the batch, and sends the
 * gradients back (transferred). The SGD update stays on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // registers the gradients
import type { NetworkSpec } from '../config.js';
import { useBackend, type TrainingBackend } from './backends.js';
import { lossAndGradients } from './step.js';

export interface GradientWorkerData {
  spec: NetworkSpec;
  backend: TrainingBackend;
  shapes: { name: string; shape: number[] }[];
}

export interface GradientRequest {
  id: number;
  /** Current parameter values, in the order of `shapes`. */
  params: Float32Array[];
  x: Float32Array;
  n: number;
  labels: Int32Array;
  dropoutSeed: number;
}

export type GradientReply = { id: number; ok: true; loss: number; grads: Float32Array[] } | { id: number; ok: false; message: string };

const { spec, backend, shapes } = workerData as GradientWorkerData;
await useBackend(backend);
const params = new Map<string, tf.Variable>(shapes.map((s) => [s.name, tf.variable(tf.zeros(s.shape), true)]));

parentPort!.on('message', (m: GradientRequest) => {
  try {
    shapes.forEach((s, i) => {
      const t = tf.tensor(m.params[i]!, s.shape, 'float32');
      params.get(s.name)!.assign(t);
      t.dispose();
    });
    const side = spec.inputSize;
    const x = tf.tensor4d(m.x, [m.n, side, side, 3]);
    const y = tf.tensor1d(m.labels, 'int32');
    const { loss, grads } = lossAndGradients(spec, params, x, y, m.dropoutSeed);
    // Copies that own their buffers (a view into the wasm heap must never be transferred).
    const out = shapes.map((s) => {
      const a = grads[s.name]!.dataSync() as Float32Array;
      return a.byteOffset === 0 && a.buffer.byteLength === a.byteLength ? a : a.slice();
    });
    const value = loss.dataSync()[0]!;
    for (const g of Object.values(grads)) g.dispose();
    loss.dispose();
    x.dispose();
    y.dispose();
    const reply: GradientReply = { id: m.id, ok: true, loss: value, grads: out };
    parentPort!.postMessage(reply, out.map((a) => a.buffer as ArrayBuffer));
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, message: String((e as Error)?.stack ?? e) } satisfies GradientReply);
  }
});
parentPort!.postMessage({ ready: true });
