/**
 * A training run's settings: the preset's training defaults (config.ts) with every override
 * applied, plus the run's own. A new run builds them once; a resumed run goes on with those it
 * was started with, where only RESUMABLE_SETTINGS may change.
 */
import os from 'node:os';
import { RUN_DEFAULTS, type Preset, type TrainDefaults } from '../config.js';
import { ConfigError } from '../errors.js';
import type { TrainingBackend } from './backends.js';

export interface TrainConfig extends TrainDefaults {
  preset: Preset['name'];
  /** Stop after this many lr drops without improvement (the paper dropped 3 times). */
  maxDrops: number;
  seed: number;
  lightingStd: number;
  /** Worker threads cutting batches (absent until the backend is known: defaultDataWorkers). */
  workers?: number;
  /** Threads computing gradients, each on a shard of the batch (CPU backends; absent in older checkpoints: the default). */
  threads?: number;
  /** Validate with the ten crops as well as the center crop each epoch. */
  tenCropEachEpoch: boolean;
}

/** The settings a resumed run may change; any other would make it a different run. */
export const RESUMABLE_SETTINGS = ['epochs', 'patience', 'workers', 'threads', 'tenCropEachEpoch'] as const;

/** A new run's settings: what was asked for, else the preset's default, else RUN_DEFAULTS. `threads` and `workers` may stay unset until the backend is known. */
/**
 * The preset's learning rate for another batch size, when none is given: scaled with the batch
 * (Goyal et al. 2017's linear rule), so the paper's 0.01 at 128 images is 0.000625 at 8, where
 * 0.01 on 8 images a step diverges. At the preset's own batch size it is the preset's (the paper's).
 */
export function scaledLearningRate(preset: Preset, batchSize: number): number {
  const t = preset.train;
  return batchSize === t.batchSize ? t.learningRate : (t.learningRate * batchSize) / t.batchSize;
}

export function newRunConfig(preset: Preset, requested: Partial<TrainConfig>): TrainConfig {
  const t = preset.train;
  const r = requested;
  return {
    preset: preset.name,
    batchSize: r.batchSize ?? t.batchSize,
    learningRate: r.learningRate ?? scaledLearningRate(preset, r.batchSize ?? t.batchSize),
    momentum: t.momentum,
    weightDecay: r.weightDecay ?? t.weightDecay,
    lrDropFactor: t.lrDropFactor,
    patience: r.patience ?? t.patience,
    maxDrops: RUN_DEFAULTS.maxDrops,
    epochs: r.epochs ?? t.epochs,
    seed: r.seed ?? RUN_DEFAULTS.seed,
    lightingStd: RUN_DEFAULTS.lightingStd,
    workers: r.workers,
    threads: r.threads,
    tenCropEachEpoch: r.tenCropEachEpoch ?? RUN_DEFAULTS.tenCropEachEpoch,
  };
}

/**
 * The config a resumed run goes on with: the one it was started with, where `requested` may
 * change only RESUMABLE_SETTINGS. A different batch size, seed, learning rate, preset... is
 * refused (ConfigError naming the setting) rather than silently ignored or applied halfway.
 */
export function resumeConfig(saved: TrainConfig, requested: Partial<TrainConfig>, run: string): TrainConfig {
  const merged: Record<string, unknown> = { ...saved };
  const before = saved as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(requested)) {
    if (value === undefined) continue;
    if ((RESUMABLE_SETTINGS as readonly string[]).includes(key)) merged[key] = value;
    else if (before[key] !== undefined && before[key] !== value) {
      throw new ConfigError(
        `${run} was started with ${key} ${JSON.stringify(before[key])}, not ${JSON.stringify(value)}: a resumed run keeps it ` +
          `(it may change only ${RESUMABLE_SETTINGS.join(', ')}); train into a new --out to change it`,
      );
    }
  }
  return merged as unknown as TrainConfig;
}

/**
 * Batch workers when none were asked for: one beside a CPU backend, whose gradient threads use
 * the cores (the pipeline is many times faster than a CPU step: bench:train), all cores but two
 * beside a GPU (one for the thread that drives the GPU, one for the rest), which a single worker
 * would starve: one cuts ~350 paper images/s from the raw store, ~240 from JPEG (bench:data).
 */
export function defaultDataWorkers(gpu: boolean, cores = os.availableParallelism()): number {
  return gpu ? Math.max(1, cores - 2) : RUN_DEFAULTS.workers;
}

/** Gradient threads when none were asked for: tfjs runs wasm and cpu on one thread, so shard each batch over the cores. */
export function defaultThreads(backend: TrainingBackend): number {
  return backend === 'wasm' || backend === 'cpu' ? os.availableParallelism() : 1;
}
