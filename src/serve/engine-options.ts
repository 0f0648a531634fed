/** What an InferenceEngine is started with, what it counts, and what a call hands it (engine.ts). */
import type { ModelFiles } from '../model/model-files.js';
import type { CropModeName, InferenceResult } from './inference-worker.js';
import type { Logger } from './log.js';

export interface EngineOptions {
  /** The pair of ONNX files and their metadata, passed on to each worker as they are. */
  model: ModelFiles;
  provider: string;
  /** Worker threads, each with its own sessions (default: from the cores and the provider). */
  workers?: number;
  /** onnxruntime intra-op threads per worker (default: cores / workers). */
  threads?: number;
  maxBatch: number;
  maxDelayMs: number;
  /** Most images waiting for a worker; more are refused with OverloadedError. */
  maxQueue: number;
  /** Split a lone ten-crop image's crops across the free workers (default true). */
  splitLoneImages?: boolean;
  /** The workers' nice value (0-19; higher yields more): above 0, the main thread and the decoders run first when the cores are busy. */
  workerNice?: number;
  /** Told of every batch a worker answered (metrics: the main thread records what the workers report). */
  observer?: BatchObserver;
  /** Where a worker that ended, and its replacement, are told (worker-replacement.ts). */
  log?: Logger;
  /** Told when calls start being refused for want of a worker (true) and when one runs again (false). */
  onRefusalChange?: (refusing: boolean) => void;
}

/** One batch as a worker answered it. */
export interface BatchReport {
  mode: CropModeName | 'part';
  /** Images in the batch (a split image's part counts as 1 here, its crops below). */
  images: number;
  /** Crops run through the network. */
  crops: number;
  /** Milliseconds the worker spent on it. */
  workerMs: number;
  /** Milliseconds each image waited in the queue before its batch formed. */
  queuedMs: number[];
}

export interface BatchObserver {
  batch(report: BatchReport): void;
}

export interface EngineStats {
  /** Images that reached the model. */
  inferred: number;
  batches: number;
  /** Of the images inferred, those whose ten crops were split across workers. */
  split: number;
  /** Milliseconds the workers spent inside their batches (summed over workers). */
  workerMs: number;
  /** Milliseconds the images inferred waited in the queue, summed. */
  queueMs: number;
  /** Jobs taken out before reaching the model, by reason. */
  dropped: { cancelled: number; expired: number };
  refused: number;
}

export interface SubmitOptions {
  /** Aborted when the call is cancelled: a job still queued is taken out (CancelledError). */
  signal?: AbortSignal;
  /** Date.now() after which the answer is no use: a job still queued then is dropped when its batch forms (DeadlineError). */
  deadline?: number;
  /** A place in the queue reserved before the image was decoded (InferenceEngine.reserve): taken now instead of checking the limit again. */
  slot?: QueueSlot;
}

/** A place in the engine's queue, held from admission (before decoding) until the image is queued or the call gives up. */
export interface QueueSlot {
  /** Give the place back (again: nothing). */
  release(): void;
}


/** One image in the engine's queue: what it waits for, and how its call is answered. */
export interface Job {
  image: Uint8Array;
  mode: CropModeName;
  /** Date.now() after which the answer is no use. */
  deadline: number;
  enqueued: number;
  resolve: (r: InferenceResult) => void;
  reject: (e: Error) => void;
}
