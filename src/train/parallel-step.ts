/**
 * Data-parallel training steps on CPU backends: the batch is cut into `threads` shards, the main
 * thread computes the gradients of the first and gradient workers (gradient-worker.ts) those of
 * the others at the same time, and the main thread applies the paper's SGD update to their
 * average weighted by shard size. The loss is a mean over the batch, so this is the same
 * gradient as one thread computing the whole batch (up to float rounding); only the dropout
 * masks differ (each shard draws its own from a seed derived from the batch's). With one
 * thread it is exactly `trainStep`.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { NetworkSpec } from '../config.js';
import type { TrainingBackend } from './backends.js';
import type { GradientReply, GradientRequest, GradientWorkerData } from './gradient-worker.js';
import type { PaperSgd } from './sgd.js';
import { lossAndGradients, trainStep } from './step.js';

/** Shard k's dropout seed: shard 0 keeps the batch's, so one thread draws what trainStep draws. */
export function shardSeed(seed: number, k: number): number {
  return k === 0 ? seed : (seed ^ Math.imul(k, 0x9e3779b1)) >>> 0;
}

/** Split n into `parts` contiguous sizes differing by at most one, larger first. */
export function shardSizes(n: number, parts: number): number[] {
  const k = Math.min(parts, n);
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
}

export class GradientPool {
  private readonly workers: Worker[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: GradientReply & { ok: true }) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly spec: NetworkSpec,
    private readonly names: string[],
  ) {}

  /** Start `threads - 1` gradient workers on `backend` (the main thread is the first). */
  static async start(spec: NetworkSpec, backend: TrainingBackend, params: Map<string, tf.Variable>, threads: number): Promise<GradientPool> {
    const shapes = [...params].map(([name, v]) => ({ name, shape: [...v.shape] }));
    const pool = new GradientPool(spec, shapes.map((s) => s.name));
    const workerData: GradientWorkerData = { spec, backend, shapes };
    try {
      await Promise.all(
        Array.from({ length: Math.max(0, threads - 1) }, async () => {
          const w = new Worker(new URL('./gradient-worker.js', import.meta.url), { workerData });
          pool.workers.push(w);
          await new Promise<void>((resolve, reject) => {
            w.once('error', reject);
            w.once('message', (m: { ready?: boolean }) => (m.ready ? resolve() : reject(new Error('gradient worker did not start'))));
          });
          w.on('message', (r: GradientReply) => {
            const p = pool.waiting.get(r.id);
            if (!p) return;
            pool.waiting.delete(r.id);
            if (r.ok) p.resolve(r);
            else p.reject(new Error(`gradient worker: ${r.message}`));
          });
          w.on('error', (e) => {
            for (const p of pool.waiting.values()) p.reject(e);
            pool.waiting.clear();
          });
        }),
      );
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** One SGD step on the batch x [n, S, S, 3] (mean-subtracted floats), labels [n]; returns the batch's mean loss. */
  async step(params: Map<string, tf.Variable>, sgd: PaperSgd, x: Float32Array, labels: Int32Array, n: number, dropoutSeed: number): Promise<number> {
    const side = this.spec.inputSize;
    const px = side * side * 3;
    const sizes = shardSizes(n, this.threads);
    if (sizes.length === 1) {
      const xt = tf.tensor4d(x, [n, side, side, 3]);
      const yt = tf.tensor1d(labels, 'int32');
      try {
        return await trainStep(this.spec, params, sgd, xt, yt, dropoutSeed);
      } finally {
        xt.dispose();
        yt.dispose();
      }
    }
    const values = await Promise.all(this.names.map(async (name) => (await params.get(name)!.data()) as Float32Array));
    const starts = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
    const remote = sizes.slice(1).map((size, j) => {
      const k = j + 1;
      const id = this.nextId++;
      const req: GradientRequest = {
        id,
        params: values,
        x: x.slice(starts[k]! * px, (starts[k]! + size) * px),
        n: size,
        labels: labels.slice(starts[k]!, starts[k]! + size),
        dropoutSeed: shardSeed(dropoutSeed, k),
      };
      return new Promise<GradientReply & { ok: true }>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        this.workers[j]!.postMessage(req, [req.x.buffer as ArrayBuffer]);
      });
    });
    // Shard 0 here, while the workers compute theirs.
    const x0 = tf.tensor4d(x.subarray(0, sizes[0]! * px), [sizes[0]!, side, side, 3]);
    const y0 = tf.tensor1d(labels.subarray(0, sizes[0]!), 'int32');
    const local = lossAndGradients(this.spec, params, x0, y0, shardSeed(dropoutSeed, 0));
    x0.dispose();
    y0.dispose();
    let replies: (GradientReply & { ok: true })[];
    try {
      replies = await Promise.all(remote);
    } catch (e) {
      for (const g of Object.values(local.grads)) g.dispose();
      local.loss.dispose();
      throw e;
    }
    // The batch's mean loss and gradient: shard means weighted by shard size.
    const w = sizes.map((s) => s / n);
    const grads: Record<string, tf.Tensor> = {};
    tf.tidy(() => {
      this.names.forEach((name, i) => {
        let g = tf.mul(local.grads[name]!, w[0]!);
        replies.forEach((r, j) => {
          g = tf.add(g, tf.mul(tf.tensor(r.grads[i]!, local.grads[name]!.shape), w[j + 1]!));
        });
        grads[name] = tf.keep(g);
      });
    });
    for (const g of Object.values(local.grads)) g.dispose();
    sgd.apply(params, grads);
    for (const g of Object.values(grads)) g.dispose();
    const loss0 = (await local.loss.data())[0]!;
    local.loss.dispose();
    return loss0 * w[0]! + replies.reduce((acc, r, j) => acc + r.loss * w[j + 1]!, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
