/**
 * The inference engine: a pool of worker threads (each with its own onnxruntime sessions) fed by
 * a dynamic batcher.
 *
 * Calls submit one encoded image each (the bytes of a JPEG, PNG or WebP file). Images wait in a
 * bounded queue per crop mode; whenever a worker is free, the oldest queue is sent as one batch if
 * it holds `maxBatch` images or its oldest image has waited `maxDelayMs` (otherwise a timer fires
 * when it will have). Under load the queue fills while every worker is busy, so batches grow by
 * themselves. A job whose call was cancelled is removed from the queue at once, and one whose
 * deadline has passed is dropped when its batch is formed: neither is decoded nor reaches the
 * model. A full queue (images or bytes) refuses at once (OverloadedError).
 *
 * The worker decodes its batch and then runs it (inference-worker.ts): decoding and inference
 * take turns on the cores instead of fighting for them, which on a small CPU machine is what
 * keeps onnxruntime's threads at full speed. An image that cannot be decoded fails alone, with
 * the same typed error the decoder throws (InvalidImageError, ImageTooLargeError).
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CancelledError, DeadlineError, ImageTooLargeError, InvalidImageError, OverloadedError, UnavailableError } from '../errors.js';
import type { ModelMean } from '../model/onnx-metadata.js';
import type { CropModeName, DecodeFailure, InferenceReply, InferenceRequest, InferenceWorkerData } from './inference-worker.js';

export type { CropModeName };

export interface EngineOptions {
  singleCropModel: string;
  tenCropModel: string;
  provider: string;
  base: number;
  crop: number;
  classes: number;
  embeddingSize: number;
  mean: ModelMean;
  /** Worker threads, each with its own sessions (default: from the cores and the provider). */
  workers?: number;
  /** onnxruntime intra-op threads per worker (default: cores / workers). */
  threads?: number;
  maxBatch: number;
  maxDelayMs: number;
  /** Most images waiting for a worker; more are refused with OverloadedError. */
  maxQueue: number;
  /** Most encoded bytes waiting for a worker (default 256 MiB); more are refused with OverloadedError. */
  maxQueueBytes?: number;
  /** Largest accepted width*height of an image, checked from its header before decoding. */
  maxPixels: number;
}

export interface InferenceResult {
  probabilities: Float32Array;
  embedding: Float32Array;
}

export interface EngineStats {
  /** Images that reached the model. */
  inferred: number;
  /** Batches sent to the workers. */
  batches: number;
  /** Milliseconds the workers spent inside their batches, decoding and inferring (summed over workers). */
  workerMs: number;
  /** Of which decoding. */
  decodeMs: number;
  /** Images of those batches that could not be decoded (answered with their error, not inferred). */
  undecodable: number;
  /** Jobs taken out before reaching the model, by reason. */
  dropped: { cancelled: number; expired: number };
  refused: number;
}

interface Job {
  /** The encoded image. */
  bytes: Uint8Array;
  mode: CropModeName;
  /** Date.now() after which the answer is no use. */
  deadline: number;
  enqueued: number;
  resolve: (r: InferenceResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  pending?: { id: number; jobs: Job[]; count: boolean };
}

export interface Submission {
  result: Promise<InferenceResult>;
  /** Take the job out if it has not reached the model yet (the call was cancelled). */
  cancel(): void;
}

/** Defaults that do not oversubscribe the cores: on CPU a worker per 4 cores, their threads dividing the cores. */
export function defaultParallelism(provider: string, cores = os.availableParallelism()): { workers: number; threads: number } {
  if (provider !== 'cpu') return { workers: 1, threads: 1 };
  const workers = Math.max(1, Math.floor(cores / 4));
  return { workers, threads: Math.max(1, Math.floor(cores / workers)) };
}

export class InferenceEngine {
  readonly stats: EngineStats = { inferred: 0, batches: 0, workerMs: 0, decodeMs: 0, undecodable: 0, dropped: { cancelled: 0, expired: 0 }, refused: 0 };
  readonly workers: number;
  readonly threads: number;
  private readonly queues: Record<CropModeName, Job[]> = { ten: [], centre: [] };
  private readonly slots: Slot[] = [];
  private timer: NodeJS.Timeout | undefined;
  private queuedBytes = 0;
  private nextId = 1;
  private closed = false;

  private constructor(private readonly opts: EngineOptions) {
    const d = defaultParallelism(opts.provider);
    this.workers = opts.workers ?? d.workers;
    this.threads = opts.threads ?? (opts.workers ? Math.max(1, Math.floor(os.availableParallelism() / opts.workers)) : d.threads);
  }

  /** Start the workers and wait until each has loaded both models. */
  static async start(opts: EngineOptions): Promise<InferenceEngine> {
    const engine = new InferenceEngine(opts);
    try {
      await Promise.all(Array.from({ length: engine.workers }, () => engine.spawn()));
    } catch (e) {
      await engine.close();
      throw e;
    }
    return engine;
  }

  /** Images waiting for a worker. */
  get queued(): number {
    return this.queues.ten.length + this.queues.centre.length;
  }

  /** Queue one encoded image (JPEG, PNG or WebP bytes) for inference in `mode`. */
  submit(bytes: Uint8Array, mode: CropModeName, deadline = Infinity): Submission {
    let job!: Job;
    const result = new Promise<InferenceResult>((resolve, reject) => {
      job = { bytes, mode, deadline, enqueued: performance.now(), resolve, reject };
    });
    const maxBytes = this.opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    if (this.closed) {
      job.reject(new UnavailableError('the server is shutting down'));
    } else if (this.queued >= this.opts.maxQueue) {
      this.stats.refused++;
      job.reject(new OverloadedError(`the server is busy: ${this.queued} images are waiting (limit ${this.opts.maxQueue}); retry later`));
    } else if (this.queued > 0 && this.queuedBytes + bytes.length > maxBytes) {
      this.stats.refused++;
      job.reject(new OverloadedError(`the server is busy: ${this.queuedBytes} bytes of images are waiting (limit ${maxBytes}); retry later`));
    } else {
      this.queues[mode].push(job);
      this.queuedBytes += bytes.length;
      this.schedule();
    }
    const cancel = () => {
      const q = this.queues[mode];
      const at = q.indexOf(job);
      if (at >= 0) {
        q.splice(at, 1);
        this.queuedBytes -= job.bytes.length;
        this.stats.dropped.cancelled++;
        job.reject(new CancelledError('the call was cancelled'));
      }
    };
    return { result, cancel };
  }

  /**
   * One batch of the encoded `image` in each mode through every worker, so the first real call
   * pays no start-up cost (decoder and sessions); rejects if it cannot be decoded or inferred.
   */
  async warmUp(image: Uint8Array): Promise<void> {
    for (const slot of this.slots) {
      for (const mode of ['ten', 'centre'] as const) {
        await new Promise<void>((resolve, reject) => {
          const job: Job = { bytes: image, mode, deadline: Infinity, enqueued: performance.now(), resolve: () => resolve(), reject };
          this.dispatch(slot, [job], false);
        });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const mode of ['ten', 'centre'] as const) {
      for (const job of this.queues[mode].splice(0)) job.reject(new UnavailableError('the server is shutting down'));
    }
    this.queuedBytes = 0;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private spawn(): Promise<void> {
    const o = this.opts;
    const workerData: InferenceWorkerData = {
      singleCropModel: o.singleCropModel,
      tenCropModel: o.tenCropModel,
      provider: o.provider,
      intraOpThreads: this.threads,
      base: o.base,
      crop: o.crop,
      mean: o.mean,
      maxPixels: o.maxPixels,
    };
    const worker = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData });
    const slot: Slot = { worker, busy: true };
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: InferenceReply | { ready: true }) => {
        if ('ready' in m) {
          ready = true;
          slot.busy = false;
          this.slots.push(slot);
          resolve();
          this.schedule();
        } else {
          this.finish(slot, m);
        }
      });
      worker.on('error', (e) => {
        if (!ready) return reject(e);
        this.fail(slot, e);
      });
      worker.on('exit', (code) => {
        if (!ready) return reject(new Error(`inference worker exited with code ${code} before loading the model`));
        if (!this.closed) this.fail(slot, new Error(`inference worker exited with code ${code}`));
      });
    });
  }

  /** A worker died: its batch fails, and a new worker takes its place. */
  private fail(slot: Slot, e: Error): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return;
    this.slots.splice(at, 1);
    for (const job of slot.pending?.jobs ?? []) job.reject(e);
    slot.pending = undefined;
    if (!this.closed) this.spawn().catch(() => undefined);
  }

  private finish(slot: Slot, reply: InferenceReply): void {
    const pending = slot.pending;
    slot.pending = undefined;
    slot.busy = false;
    if (pending && pending.id === reply.id) {
      if (!reply.ok) {
        for (const job of pending.jobs) job.reject(new Error(reply.message));
      } else {
        if (pending.count) {
          this.stats.workerMs += reply.ms;
          this.stats.decodeMs += reply.decodeMs;
          this.stats.undecodable += reply.failures.length;
          this.stats.inferred += pending.jobs.length - reply.failures.length;
        }
        const c = this.opts.classes;
        const f = this.opts.embeddingSize;
        // Results come packed in job order, skipping the images that failed to decode.
        const failed = new Map(reply.failures.map((x) => [x.index, x]));
        let k = 0;
        pending.jobs.forEach((job, i) => {
          const failure = failed.get(i);
          if (failure) return job.reject(decodeError(failure));
          job.resolve({ probabilities: reply.probabilities.slice(k * c, (k + 1) * c), embedding: reply.embeddings.slice(k * f, (k + 1) * f) });
          k++;
        });
      }
    }
    this.schedule();
  }

  /** Send batches to free workers while the batching rule allows; otherwise wait for the oldest image's delay. */
  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (;;) {
      const slot = this.slots.find((s) => !s.busy);
      if (!slot || this.closed) return;
      const mode = this.oldestMode();
      if (!mode) return;
      const q = this.queues[mode];
      const waited = performance.now() - q[0]!.enqueued;
      if (q.length < this.opts.maxBatch && waited < this.opts.maxDelayMs) {
        this.timer = setTimeout(() => this.schedule(), Math.max(0, this.opts.maxDelayMs - waited) + 0.5);
        return;
      }
      const now = Date.now();
      const jobs: Job[] = [];
      while (q.length > 0 && jobs.length < this.opts.maxBatch) {
        const job = q.shift()!;
        this.queuedBytes -= job.bytes.length;
        if (job.deadline <= now) {
          this.stats.dropped.expired++;
          job.reject(new DeadlineError('the deadline passed while the image waited for the model'));
        } else {
          jobs.push(job);
        }
      }
      if (jobs.length > 0) this.dispatch(slot, jobs, true);
    }
  }

  private oldestMode(): CropModeName | undefined {
    const t = this.queues.ten[0];
    const c = this.queues.centre[0];
    if (!t) return c ? 'centre' : undefined;
    if (!c) return 'ten';
    return t.enqueued <= c.enqueued ? 'ten' : 'centre';
  }

  private dispatch(slot: Slot, jobs: Job[], count: boolean): void {
    // The files back to back in one transferred buffer; offsets[i]..offsets[i+1] is file i.
    const offsets = [0];
    for (const j of jobs) offsets.push(offsets[offsets.length - 1]! + j.bytes.length);
    const files = new Uint8Array(offsets[jobs.length]!);
    jobs.forEach((j, i) => files.set(j.bytes, offsets[i]!));
    const id = this.nextId++;
    slot.busy = true;
    slot.pending = { id, jobs, count };
    if (count) this.stats.batches++;
    const req: InferenceRequest = { id, mode: jobs[0]!.mode, files, offsets };
    slot.worker.postMessage(req, [files.buffer]);
  }
}

/** Most encoded bytes waiting in the queue by default. */
export const DEFAULT_MAX_QUEUE_BYTES = 256 * 1024 * 1024;

/** The worker's report of an image it could not decode, as the typed error the decoder threw. */
function decodeError(f: DecodeFailure): Error {
  if (f.kind === 'too-large') return new ImageTooLargeError(f.message);
  if (f.kind === 'invalid') return new InvalidImageError(f.message);
  return new Error(f.message);
}
