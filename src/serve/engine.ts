/**
 * The inference engine: a pool of worker threads (each with its own onnxruntime sessions) fed by a
 * dynamic batcher. Calls submit one decoded image each (a place reserved before decoding: reserve()).
 * Images wait in a bounded queue per crop mode; whenever a worker is free, the oldest queue is sent
 * as one batch if it holds `maxBatch` images or its oldest image has waited `maxDelayMs` (else a
 * timer fires when it will have), so under load batches grow by themselves. A cancelled job leaves
 * the queue at once, an expired one is dropped when its batch forms: neither reaches the model. A
 * full queue refuses at once (OverloadedError). A lone ten-crop image (nothing else waiting) with
 * two or more workers free has its crops split among them (ten-crop-split.ts).
 */
import type { Worker } from 'node:worker_threads';
import { CancelledError, DeadlineError, OverloadedError, UnavailableError } from '../errors.js';
import { resolveParallelism } from './batching-defaults.js';
import { releaseRunLockOf, runLockFor } from './gpu-run-lock.js';
import { holdModelFiles, type HeldModelFiles } from './held-model-files.js';
import type { BatchReport, EngineOptions, EngineStats, Job, QueueSlot, SubmitOptions } from './engine-options.js';
import type { CropModeName, InferenceReply, InferenceRequest, InferenceResult, InferenceWorkerData } from './inference-worker.js';
import { startInferenceWorker } from './inference-worker-start.js';
import { splitTenCrop, TEN } from './ten-crop-split.js';
import { WorkerReplacer } from './worker-replacement.js';
import { stopWorker } from './worker-stop.js';

export type { BatchReport, CropModeName, EngineOptions, EngineStats, InferenceResult, QueueSlot, SubmitOptions };

interface Slot {
  worker: Worker;
  threadId: number; // kept: worker.threadId reads -1 once the thread has stopped
  busy: boolean;
  /** The request the worker is running: what to do with its reply, or with its failure. */
  pending?: { id: number; done: (reply: InferenceReply & { ok: true }) => void; fail: (e: Error) => void };
}

export class InferenceEngine {
  readonly stats: EngineStats = { inferred: 0, batches: 0, split: 0, workerMs: 0, queueMs: 0, dropped: { cancelled: 0, expired: 0 }, refused: 0 };
  readonly workers: number;
  readonly threads: number;
  private readonly queues: Record<CropModeName, Job[]> = { ten: [], center: [] };
  private readonly slots: Slot[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closed = false;
  /** Queue places reserved by calls still decoding their image. */
  private reserved = 0;
  /** What every worker loads, a replacement for a dead one too (held-model-files.ts). */
  private held: HeldModelFiles | undefined;
  /** Workers that end on their own are replaced; while none runs and none can start, calls are refused. */
  readonly replacer: WorkerReplacer;

  private constructor(private readonly opts: EngineOptions) {
    const layout = resolveParallelism(opts.provider, opts.workers, opts.threads);
    this.workers = layout.workers;
    this.threads = layout.threads;
    this.replacer = new WorkerReplacer({ start: () => this.spawn(), closed: () => this.closed, running: () => this.slots.length, queued: () => Object.values(this.queues), log: opts.log, changed: (refusing) => opts.onRefusalChange?.(refusing) });
  }

  /** Start the workers and wait until each has loaded both models. */
  static async start(opts: EngineOptions): Promise<InferenceEngine> {
    const engine = new InferenceEngine(opts);
    try {
      engine.held = await holdModelFiles(opts.model);
      await Promise.all(Array.from({ length: engine.workers }, () => engine.spawn()));
    } catch (e) {
      await engine.close();
      throw engine.held ? engine.held.named(e) : e;
    }
    return engine;
  }

  /** Images waiting for a worker. */
  get queued(): number {
    return this.queues.ten.length + this.queues.center.length;
  }

  /** Images waiting for a worker and places reserved for images still being decoded. */
  private get taken(): number {
    return this.queued + this.reserved;
  }

  /** The refusal of a full queue, counted. */
  private overloaded(): OverloadedError {
    this.stats.refused++;
    return new OverloadedError(`the server is busy: ${this.queued} images are waiting and ${this.reserved} being decoded (limit ${this.opts.maxQueue}); retry later`);
  }

  /** Hold a place in the queue before spending anything on the image (decoding), or refuse at once (OverloadedError). */
  reserve(): QueueSlot {
    if (this.closed) throw new UnavailableError('the server is shutting down');
    if (this.replacer.refusal) throw this.replacer.refusal;
    if (this.taken >= this.opts.maxQueue) throw this.overloaded();
    this.reserved++;
    let held = true;
    return {
      release: () => {
        if (held) this.reserved--;
        held = false;
      },
    };
  }

  /** Queue one decoded image (baseSize x baseSize x 3); its answer, or why it has none. */
  submit(image: Uint8Array, mode: CropModeName, { signal, deadline = Infinity, slot }: SubmitOptions = {}): Promise<InferenceResult> {
    let job!: Job;
    const result = new Promise<InferenceResult>((resolve, reject) => {
      job = { image, mode, deadline, enqueued: performance.now(), resolve, reject };
    });
    // A reserved place becomes the queued image's: the limit was checked when it was reserved.
    const full = slot ? (slot.release(), false) : this.taken >= this.opts.maxQueue;
    if (this.closed || this.replacer.refusal) {
      job.reject(this.replacer.refusal ?? new UnavailableError('the server is shutting down'));
    } else if (full) {
      job.reject(this.overloaded());
    } else {
      this.queues[mode].push(job);
      if (signal) {
        // Only a job still queued is taken out; one that reached a worker runs to the end.
        const cancel = () => {
          const at = this.queues[mode].indexOf(job);
          if (at < 0) return;
          this.queues[mode].splice(at, 1);
          this.stats.dropped.cancelled++;
          job.reject(new CancelledError('the call was cancelled'));
        };
        signal.addEventListener('abort', cancel, { once: true });
        const settled = () => signal.removeEventListener('abort', cancel);
        result.then(settled, settled);
      }
      this.schedule();
    }
    return result;
  }

  /** One batch of `image` in each mode through every worker, so the first real call pays no start-up cost. */
  async warmUp(image: Uint8Array): Promise<void> {
    for (const slot of this.slots) {
      for (const mode of ['ten', 'center'] as const) {
        await new Promise<void>((resolve, reject) => {
          const job: Job = { image, mode, deadline: Infinity, enqueued: performance.now(), resolve: () => resolve(), reject };
          this.dispatch(slot, [job], false);
        });
      }
    }
  }

  /** Batches sent to a worker and not yet answered. */
  get running(): number {
    return this.slots.filter((s) => s.pending).length;
  }

  /** Refuse new images, drop the queued ones, let each worker finish its batch under way (worker-stop.ts), stop the workers. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const mode of ['ten', 'center'] as const) {
      for (const job of this.queues[mode].splice(0)) job.reject(new UnavailableError('the server is shutting down'));
    }
    await Promise.all(this.slots.map((s) => stopWorker(s.worker, s.threadId, runLockFor(this.opts.provider))));
    this.slots.length = 0;
    await this.held?.close();
  }

  private async spawn(): Promise<void> {
    const o = this.opts;
    const workerData: InferenceWorkerData = { model: this.held?.model ?? o.model, provider: o.provider, intraOpThreads: this.threads, nice: o.workerNice ?? 0, runLock: runLockFor(o.provider) };
    const slot = { busy: false } as Slot;
    slot.worker = await startInferenceWorker(workerData, {
      reply: (m) => this.finish(slot, m),
      // Closing, a worker ends once its batch is answered; one still pending was ended by the backstop mid-run.
      ended: (why) => this.fail(slot, this.closed ? new UnavailableError('the server is shutting down') : typeof why === 'number' ? new Error(`inference worker exited with code ${why}`) : why),
    });
    slot.threadId = slot.worker.threadId;
    // A replacement that finished loading after close() has no one else to stop it.
    if (this.closed) return stopWorker(slot.worker, slot.threadId, runLockFor(o.provider));
    this.slots.push(slot);
    this.schedule();
  }

  /** A worker died: its batch fails, and a new worker takes its place. */
  private fail(slot: Slot, e: Error): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return;
    this.slots.splice(at, 1);
    releaseRunLockOf(runLockFor(this.opts.provider), slot.threadId);
    slot.pending?.fail(e);
    slot.pending = undefined;
    if (!this.closed) this.replacer.replace(slot.threadId, e);
  }

  private finish(slot: Slot, reply: InferenceReply): void {
    const pending = slot.pending;
    slot.pending = undefined;
    slot.busy = false;
    if (pending && pending.id === reply.id) {
      if (!reply.ok) {
        pending.fail(new Error(reply.message));
      } else {
        pending.done(reply);
      }
    }
    this.schedule();
  }

  /** Send batches to free workers while the batching rule allows; otherwise wait for the oldest image's delay. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
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
        if (job.deadline <= now) {
          this.stats.dropped.expired++;
          job.reject(new DeadlineError('the deadline passed while the image waited for the model'));
        } else {
          jobs.push(job);
        }
      }
      if (jobs.length === 0) continue;
      // Only a lone ten-crop image looks for other free workers; every other batch goes to `slot`.
      const lone = (this.opts.splitLoneImages ?? true) && mode === 'ten' && jobs.length === 1 && this.queued === 0;
      const free = lone ? this.slots.filter((s) => !s.busy) : [];
      if (free.length >= 2) {
        this.dispatchSplit(free, jobs[0]!);
      } else {
        this.dispatch(slot, jobs, true);
      }
    }
  }

  private oldestMode(): CropModeName | undefined {
    const t = this.queues.ten[0];
    const c = this.queues.center[0];
    if (!t) return c ? 'center' : undefined;
    if (!c) return 'ten';
    return t.enqueued <= c.enqueued ? 'ten' : 'center';
  }

  private dispatch(slot: Slot, jobs: Job[], count: boolean): void {
    const { baseSize } = this.opts.model.metadata;
    const px = baseSize * baseSize * 3;
    const images = new Uint8Array(jobs.length * px);
    jobs.forEach((j, i) => images.set(j.image, i * px));
    const [c, f] = this.outputSizes();
    const done = (reply: InferenceReply & { ok: true }) =>
      jobs.forEach((job, i) => job.resolve({ probabilities: reply.probabilities.slice(i * c, (i + 1) * c), embedding: reply.embeddings.slice(i * f, (i + 1) * f) }));
    const fail = (e: Error) => jobs.forEach((job) => job.reject(e));
    if (count) {
      this.stats.inferred += jobs.length;
      this.stats.batches++;
    }
    const waits = count ? jobs.map((j) => performance.now() - j.enqueued) : undefined;
    this.stats.queueMs += waits?.reduce((a, b) => a + b, 0) ?? 0;
    this.send(slot, { mode: jobs[0]!.mode, n: jobs.length, images }, done, fail, waits);
  }

  /** A lone ten-crop image over the free workers (ten-crop-split.ts); the first part reports the image's wait. */
  private dispatchSplit(free: Slot[], job: Job): void {
    this.stats.inferred++;
    this.stats.batches++;
    this.stats.split++;
    const waited = [performance.now() - job.enqueued];
    this.stats.queueMs += waited[0]!;
    splitTenCrop(Math.min(free.length, TEN), this.outputSizes(), job, (crops, p, done, fail) => this.send(free[p]!, { mode: 'part', n: 1, images: job.image.slice(), crops }, done, fail, p === 0 ? waited : []));
  }

  /** Per image: the number of classes (softmax) and the embedding dimension (fc7). */
  private outputSizes(): [number, number] {
    return [this.opts.model.metadata.labels.length, this.opts.model.metadata.embeddingDimension];
  }

  /** `queuedMs` (one wait per image): the batch is reported to the observer once answered; absent: not reported (warm-up). */
  private send(slot: Slot, req: Omit<InferenceRequest, 'id'>, done: (reply: InferenceReply & { ok: true }) => void, fail: (e: Error) => void, queuedMs?: number[]): void {
    const id = this.nextId++;
    slot.busy = true;
    const observer = this.opts.observer;
    const report: BatchReport | undefined = observer && queuedMs ? { mode: req.mode, images: queuedMs.length, crops: req.crops?.length ?? (req.mode === 'ten' ? TEN : 1) * req.n, workerMs: 0, queuedMs } : undefined;
    const answered = (reply: InferenceReply & { ok: true }) => {
      // Warm-up batches (no queuedMs) are not the calls' work.
      if (queuedMs) this.stats.workerMs += reply.ms;
      if (report) observer!.batch({ ...report, workerMs: reply.ms });
      done(reply);
    };
    slot.pending = { id, done: answered, fail };
    slot.worker.postMessage({ ...req, id } satisfies InferenceRequest, [req.images.buffer as ArrayBuffer]);
  }
}
