/**
 * Batches prepared ahead in worker threads, delivered in order. Each batch's augmentation is
 * seeded from (seed, epoch, batch index), so results do not depend on which worker ran it and a
 * resumed run draws exactly what an uninterrupted one would.
 */
import { Worker } from 'node:worker_threads';
import { RUN_DEFAULTS } from '../config.js';
import { ConfigError } from '../errors.js';
import type { RgbPca } from '../image/pca.js';
import { Rng } from '../util/rng.js';
import type { BatchReply, BatchRequest, BatchWorkerData, CropMode } from './batch-worker.js';
import type { Split } from './data-cache.js';

export interface PipelineOptions {
  split: Split;
  mean: Float32Array;
  /** Side of the square images (NetworkSpec.baseSize). */
  baseSize: number;
  /** Side of the crops (NetworkSpec.inputSize). */
  inputSize: number;
  pca: RgbPca;
  lightingStd?: number;
  workers?: number;
  /** Batches requested ahead of the one being consumed. */
  depth?: number;
}

export interface Batch {
  index: number;
  x: Float32Array;
  labels: Int32Array;
  size: number;
}

export class BatchPipeline {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: BatchReply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private rr = 0;
  /** Milliseconds the consumer waited for a batch that was not ready yet. */
  waitMs = 0;

  constructor(private readonly options: PipelineOptions) {
    const workerData: BatchWorkerData = {
      split: options.split,
      mean: options.mean,
      baseSize: options.baseSize,
      inputSize: options.inputSize,
      pca: options.pca,
      lightingStd: options.lightingStd ?? RUN_DEFAULTS.lightingStd,
    };
    const n = Math.max(1, options.workers ?? 1);
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL('./batch-worker.js', import.meta.url), { workerData });
      w.on('message', (reply: BatchReply | { id: number; error: string }) => {
        const p = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if ('error' in reply) p?.reject(new ConfigError(`reading a batch from the data cache failed: ${reply.error}`));
        else p?.resolve(reply);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
    }
  }

  private request(indices: Int32Array, mode: CropMode, seed: number): Promise<BatchReply> {
    const id = this.nextId++;
    const req: BatchRequest = { id, indices, mode, seed };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[this.rr++ % this.workers.length]!.postMessage(req);
    });
  }

  /**
   * The batches of one epoch. `order` lists the split's image indices in the order to visit;
   * `startBatch` skips batches already trained (resume mid-epoch). A final partial batch is
   * kept for evaluation and dropped for training.
   */
  async *batches(order: Int32Array, batchSize: number, mode: CropMode, seed: number, startBatch = 0): AsyncGenerator<Batch> {
    const full = mode === 'train' ? Math.floor(order.length / batchSize) : Math.ceil(order.length / batchSize);
    // Two batches a worker in flight, but no more than ~1 GiB of them beyond one a worker (the
    // paper's batch of 128 is 79 MB of floats: 14 workers beside a GPU would hold 2.2 GB).
    const bytes = batchSize * (mode === 'ten' ? 10 : 1) * this.options.inputSize ** 2 * 3 * 4;
    const depth = this.options.depth ?? Math.max(2, Math.min(this.workers.length * 2, Math.max(this.workers.length, Math.floor(2 ** 30 / bytes))));
    const inflight: Promise<BatchReply>[] = [];
    let next = startBatch;
    const issue = () => {
      const b = next++;
      const indices = order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
      inflight.push(this.request(Int32Array.from(indices), mode, batchSeed(seed, b)));
    };
    while (next < full && inflight.length < depth) issue();
    for (let b = startBatch; b < full; b++) {
      const t0 = performance.now();
      const reply = await inflight.shift()!;
      this.waitMs += performance.now() - t0;
      if (next < full) issue();
      yield { index: b, x: reply.x, labels: reply.labels, size: reply.labels.length };
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A seed per batch, mixing the epoch seed and the batch index. */
export function batchSeed(seed: number, batch: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(batch + 1, 0x85ebca6b)) >>> 0;
}

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
