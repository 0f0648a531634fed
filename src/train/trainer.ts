/**
 * The training loop (§5): SGD with the paper's momentum/weight-decay rule, batch 128, lr 0.01
 * divided by 10 when validation error stops improving, dropout, random crops + flips + PCA
 * lighting on batches prepared in worker threads, validation each epoch (center and ten crops),
 * a checkpoint each epoch and on interrupt, exact resume.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Preset, TrainDefaults } from '../config.js';
import { ConfigError } from '../errors.js';
import { readCheckpoint, writeCheckpoint, type CheckpointMeta } from '../model/checkpoint.js';
import { initParameters } from '../model/init.js';
import { parameterShapes } from '../model/spec.js';
import type { NamedTensor } from '../model/tensor.js';
import { Rng } from '../util/rng.js';
import { BatchPipeline, batchSeed, permutation } from './batch-pipeline.js';
import type { DataCache } from './data-cache.js';
import { evaluateSplit } from './evaluate.js';
import type { EpochMetrics } from './epoch-metrics.js';
import { fromTfjs, toTfjs } from './network.js';
import { PaperSgd } from './sgd.js';
import { GradientPool } from './parallel-step.js';
import type { TrainingBackend } from './backends.js';
import { writeCurves } from './curves.js';

/** The preset's training defaults (config.ts) with every override applied, plus the run's own settings. */
export interface TrainConfig extends TrainDefaults {
  preset: Preset['name'];
  /** Stop after this many lr drops without improvement (the paper dropped 3 times). */
  maxDrops: number;
  seed: number;
  lightingStd: number;
  workers: number;
  /** Threads computing gradients, each on a shard of the batch (CPU backends; absent in older checkpoints: 1). */
  threads?: number;
  /** Validate with the ten crops as well as the center crop each epoch. */
  tenCropEachEpoch: boolean;
}

/** The settings a resumed run may change; any other would make it a different run. */
export const RESUMABLE_SETTINGS = ['epochs', 'patience', 'workers', 'threads', 'tenCropEachEpoch'] as const;

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

export interface TrainingState {
  /** Completed epochs. */
  epoch: number;
  /** Batches already trained in epoch `epoch` (non-zero after an interrupt). */
  batch: number;
  learningRate: number;
  drops: number;
  bestError: number;
  epochsSinceBest: number;
  config: TrainConfig;
  history: EpochMetrics[];
  rng: ReturnType<Rng['state']>;
}

export interface TrainHooks {
  /** Called after every step. */
  onStep?: (info: { epoch: number; batch: number; batches: number; loss: number; imagesPerSecond: number }) => void;
  onEpoch?: (m: EpochMetrics) => void;
  log?: (line: string) => void;
  /** Aborting saves a checkpoint after the current step and returns. */
  signal?: AbortSignal;
  /** Stop after this many steps in total (tests). */
  maxSteps?: number;
}

/** Where the run keeps a copy of the checkpoint of its best validation epoch (a checkpoint directory of its own). */
export const BEST_DIR = 'best';

export interface TrainResult {
  checkpoint: string;
  state: TrainingState;
  interrupted: boolean;
}

const epochSeed = (seed: number, epoch: number) => batchSeed(seed, 1_000_000 + epoch);

export async function train(preset: Preset, data: DataCache, out: string, config: TrainConfig, resume: boolean, hooks: TrainHooks = {}): Promise<TrainResult> {
  const log = hooks.log ?? (() => {});
  const ck = resume ? await readCheckpoint(out) : undefined;
  // A resumed run keeps the network it started with, even where the preset has changed since.
  const spec = ck?.network ?? preset.network;
  if (data.meta.base !== spec.baseSize) {
    const name = ck?.preset ?? preset.name;
    throw new ConfigError(
      `the data was prepared at ${data.meta.base}x${data.meta.base}, ${ck ? `the run in ${out}` : `the ${preset.name} preset`} needs ${spec.baseSize}x${spec.baseSize}: ` +
        `prepare it for ${name} (alexnet data prepare IMAGE_DIR --preset ${name}, or alexnet data fashion-mnist --preset ${name} --out NEW_DIR) and train on that`,
    );
  }
  const train = data.splits.train!;
  const val = data.splits.val;
  if (!val || val.count === 0) throw new ConfigError('the data has no validation split');
  if (train.count < config.batchSize) throw new ConfigError(`${train.count} training images is fewer than one batch of ${config.batchSize}`);
  const classes = data.meta.classes.length;

  let tensors: NamedTensor[];
  let state: TrainingState;
  const meta: CheckpointMeta = {
    preset: ck?.preset ?? preset.name,
    network: spec,
    classes,
    labels: data.meta.classes,
    mean: { kind: 'image', tensor: 'mean' },
  };
  if (ck) {
    const saved = ck.training as unknown as TrainingState | undefined;
    if (!saved?.config) throw new ConfigError(`${out} holds no training state to resume (it was not written by 'alexnet train')`);
    if (ck.classes !== classes || ck.labels.join('\n') !== data.meta.classes.join('\n')) {
      throw new ConfigError(`${out} was trained on classes [${ck.labels.join(', ')}], the data has [${data.meta.classes.join(', ')}]`);
    }
    state = { ...saved, config: resumeConfig(saved.config, config, out) };
    tensors = [...ck.tensors.values()];
    log(`resuming ${out} at epoch ${state.epoch + 1}, batch ${state.batch}, lr ${state.learningRate}`);
  } else {
    // A new run: what an earlier, never-checkpointed run left here would mix with its metrics.
    await fs.rm(path.join(out, 'metrics.jsonl'), { force: true });
    await fs.rm(path.join(out, BEST_DIR), { recursive: true, force: true });
    const rng = new Rng(config.seed);
    tensors = initParameters(spec, classes, rng);
    state = { epoch: 0, batch: 0, learningRate: config.learningRate, drops: 0, bestError: 1, epochsSinceBest: 0, config, history: [], rng: rng.state() };
  }
  const cfg = state.config;
  const names = new Set(parameterShapes(spec, classes).map((p) => p.name));
  const params = toTfjs(tensors.filter((t) => names.has(t.name)), true) as Map<string, tf.Variable>;
  const sgd = new PaperSgd({ learningRate: state.learningRate, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  sgd.load(tensors);
  const mean: NamedTensor = { name: 'mean', shape: [spec.baseSize, spec.baseSize, 3], data: data.mean };

  const save = async (alsoBest = false) => {
    const all = [...(await fromTfjs(params)), ...(await sgd.state()), mean];
    const written = await writeCheckpoint(out, { ...meta, training: state as unknown as Record<string, unknown> }, all);
    // The best epoch's copy is written after the run's own checkpoint: a crash between the two
    // leaves best/ one improvement behind, never the run unresumable.
    if (alsoBest) await writeCheckpoint(path.join(out, BEST_DIR), { ...meta, training: state as unknown as Record<string, unknown> }, all);
    return written;
  };

  const pipeOpts = { mean: data.mean, base: spec.baseSize, crop: spec.inputSize, pca: data.meta.pca, lightingStd: cfg.lightingStd, workers: cfg.workers };
  const trainPipe = new BatchPipeline({ ...pipeOpts, split: train });
  const valPipe = new BatchPipeline({ ...pipeOpts, split: val, workers: 1 });
  const valOrder = Int32Array.from({ length: val.count }, (_, i) => i);
  const batches = Math.floor(train.count / cfg.batchSize);
  const pool = await GradientPool.start(spec, tf.getBackend() as TrainingBackend, params, cfg.threads ?? 1);
  let steps = 0;
  let interrupted = false;
  let checkpoint = '';
  try {
    while (state.epoch < cfg.epochs && state.drops <= cfg.maxDrops) {
      const e = state.epoch;
      const seed = epochSeed(cfg.seed, e);
      const order = permutation(train.count, seed);
      const t0 = performance.now();
      trainPipe.waitMs = 0;
      let lossSum = 0;
      let lossCount = 0;
      let stepMs = 0;
      for await (const b of trainPipe.batches(order, cfg.batchSize, 'train', seed, state.batch)) {
        const s0 = performance.now();
        const loss = await pool.step(params, sgd, b.x, b.labels, b.size, batchSeed(seed ^ 0x2545f491, b.index));
        if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at epoch ${e + 1}, batch ${b.index + 1}: lower the learning rate`);
        stepMs += performance.now() - s0;
        lossSum += loss;
        lossCount++;
        state.batch = b.index + 1;
        steps++;
        hooks.onStep?.({ epoch: e, batch: b.index + 1, batches, loss, imagesPerSecond: (lossCount * cfg.batchSize) / ((performance.now() - t0) / 1000) });
        if (hooks.signal?.aborted || (hooks.maxSteps !== undefined && steps >= hooks.maxSteps)) {
          interrupted = true;
          break;
        }
      }
      if (interrupted) {
        checkpoint = await save();
        log(`interrupted at epoch ${e + 1}, batch ${state.batch}: saved ${checkpoint}`);
        break;
      }
      const seconds = (performance.now() - t0) / 1000;
      const center = await evaluateSplit(spec, params, valPipe, valOrder, 'center', classes);
      const ten = cfg.tenCropEachEpoch ? await evaluateSplit(spec, params, valPipe, valOrder, 'ten', classes) : undefined;
      const m: EpochMetrics = {
        epoch: e + 1,
        learningRate: state.learningRate,
        trainLoss: lossSum / Math.max(1, lossCount),
        val: { center, ...(ten ? { ten } : {}) },
        seconds,
        imagesPerSecond: (lossCount * cfg.batchSize) / seconds,
        dataWait: trainPipe.waitMs / Math.max(1, trainPipe.waitMs + stepMs),
      };
      state.history.push(m);
      // The lr schedule follows validation error (ten-crop when measured, as the paper reports it).
      const err = (ten ?? center).top1;
      let dropMessage = '';
      const improved = err < state.bestError - 1e-9;
      if (improved) {
        state.bestError = err;
        state.epochsSinceBest = 0;
      } else if (++state.epochsSinceBest >= cfg.patience) {
        // From the initial rate, so repeated division adds no rounding (0.01 / 10 / 10 / 10 = 1.0000000000000002e-5).
        state.learningRate = cfg.learningRate / cfg.lrDropFactor ** (state.drops + 1);
        state.drops++;
        state.epochsSinceBest = 0;
        sgd.learningRate = state.learningRate;
        dropMessage = `validation error has not improved for ${cfg.patience} epoch(s): learning rate now ${state.learningRate}`;
      }
      state.epoch = e + 1;
      state.batch = 0;
      checkpoint = await save(improved);
      await fs.appendFile(path.join(out, 'metrics.jsonl'), JSON.stringify(m) + '\n');
      await writeCurves(path.join(out, 'curves.svg'), state.history, `${preset.name} on ${path.basename(data.dir)}`);
      hooks.onEpoch?.(m);
      if (dropMessage) log(dropMessage);
    }
  } finally {
    await pool.close();
    await trainPipe.close();
    await valPipe.close();
    for (const p of params.values()) p.dispose();
    sgd.dispose();
  }
  return { checkpoint, state, interrupted };
}
