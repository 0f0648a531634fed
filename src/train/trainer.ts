/**
 * The training loop (§5): SGD with the paper's momentum/weight-decay rule, batch 128, lr 0.01
 * divided by 10 when validation error stops improving, dropout, random crops + flips + PCA
 * lighting on batches prepared in worker threads, validation each epoch (center and ten crops),
 * a checkpoint each epoch and on interrupt, exact resume. The run (new or resumed) is opened by
 * training-run.ts; its directory's files are written through run-dir.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import type { CheckpointMeta } from '../model/checkpoint.js';
import { initParameters } from '../model/init.js';
import { parameterShapes } from '../model/spec.js';
import type { NamedTensor } from '../model/tensor.js';
import { TrainingDivergedError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { BatchPipeline, batchSeed, permutation } from './batch-pipeline.js';
import type { DataCache } from './data-cache.js';
import { evaluateSplit } from './evaluate.js';
import type { EpochMetrics } from './epoch-metrics.js';
import { fromTfjs, toTfjs } from './network.js';
import { PaperSgd } from './sgd.js';
import { GradientPool } from './parallel-step.js';
import type { TrainingBackend } from './backends.js';
import { afterEpoch, initialPlateau, plateauAllowsMore, scheduleErrors } from './plateau-schedule.js';
import { recordEpoch, saveRunCheckpoint } from './run-dir.js';
import { checkRunData, runLabels, type TrainingRun, type TrainingState } from './training-run.js';
import { plural } from '../util/plural.js';

export interface TrainHooks {
  /** Called after every step. */
  onStep?: (info: { epoch: number; batch: number; batches: number; loss: number; imagesPerSecond: number }) => void;
  onEpoch?: (m: EpochMetrics) => void;
  log?: (line: string) => void;
  /** Aborting saves a checkpoint after the current step and returns. */
  signal?: AbortSignal;
  /** Stop after this many steps of this call, saving a checkpoint as an interrupt does (alexnet train --max-steps). */
  maxSteps?: number;
}

export interface TrainResult {
  checkpoint: string;
  state: TrainingState;
  interrupted: boolean;
  /** The interrupt was the step limit (hooks.maxSteps), not the signal. */
  atStepLimit: boolean;
}

const epochSeed = (seed: number, epoch: number) => batchSeed(seed, 1_000_000 + epoch);

export async function train(run: TrainingRun, data: DataCache, hooks: TrainHooks = {}): Promise<TrainResult> {
  const log = hooks.log ?? (() => {});
  const { out, preset } = run;
  const spec = preset.network;
  checkRunData(run, data);
  const train = data.splits.train!;
  const val = data.splits.val!;
  const classes = data.meta.classes.length;

  let tensors: NamedTensor[];
  let state: TrainingState;
  const meta: CheckpointMeta = {
    preset: preset.name,
    network: spec,
    classes,
    ...runLabels(run, data),
    mean: { kind: 'image', tensor: 'mean' },
  };
  if (run.resumed) {
    ({ state, tensors } = run.resumed);
    log(`resuming ${out} at epoch ${state.epoch + 1}, batch ${state.batch}, lr ${state.learningRate}`);
  } else {
    const rng = new Rng(run.config.seed);
    tensors = initParameters(spec, classes, rng);
    state = { epoch: 0, batch: 0, ...initialPlateau(run.config.learningRate), config: run.config, history: [], rng: rng.state(), valSplit: data.meta.valSplit ?? null };
  }
  const cfg = state.config;
  const names = new Set(parameterShapes(spec, classes).map((p) => p.name));
  const params = toTfjs(tensors.filter((t) => names.has(t.name)), true) as Map<string, tf.Variable>;
  const sgd = new PaperSgd({ learningRate: state.learningRate, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  sgd.load(tensors);
  const mean: NamedTensor = { name: 'mean', shape: [spec.baseSize, spec.baseSize, 3], data: data.mean };

  const save = async (alsoBest = false) => {
    const all = [...(await fromTfjs(params)), ...(await sgd.state()), mean];
    return saveRunCheckpoint(out, { ...meta, training: state as unknown as Record<string, unknown> }, all, alsoBest);
  };

  const pipeOpts = { mean: data.mean, baseSize: spec.baseSize, inputSize: spec.inputSize, pca: data.meta.pca, lightingStd: cfg.lightingStd, workers: cfg.workers ?? 1 };
  const trainPipe = new BatchPipeline({ ...pipeOpts, split: train });
  const valPipe = new BatchPipeline({ ...pipeOpts, split: val, workers: 1 });
  const valOrder = Int32Array.from({ length: val.count }, (_, i) => i);
  const batches = Math.floor(train.count / cfg.batchSize);
  const pool = await GradientPool.start(spec, tf.getBackend() as TrainingBackend, params, cfg.threads ?? 1);
  let steps = 0;
  let interrupted = false;
  let atStepLimit = false;
  let checkpoint = '';
  try {
    while (state.epoch < cfg.epochs && plateauAllowsMore(state, cfg)) {
      const e = state.epoch;
      const seed = epochSeed(cfg.seed, e);
      const order = permutation(train.count, seed);
      // A resumed epoch goes on with the sums of its batches before the interrupt.
      const before = state.batch > 0 ? state.partial : undefined;
      const t0 = performance.now() - 1000 * (before?.seconds ?? 0);
      trainPipe.waitMs = before?.waitMs ?? 0;
      let lossSum = before?.lossSum ?? 0;
      let lossCount = before?.lossCount ?? 0;
      let stepMs = before?.stepMs ?? 0;
      // One step stays in flight: step n+1 is queued before step n's loss is read back, so a GPU's
      // queue never drains between steps. Only where the whole step runs on this thread: with
      // gradient workers, a step reads the parameters the step before it updates.
      const depth = pool.threads === 1 ? 1 : 0;
      const inflight: { loss: Promise<number>; index: number }[] = [];
      const settle = async () => {
        const { loss: pending, index } = inflight.shift()!;
        const s0 = performance.now();
        const loss = await pending;
        stepMs += performance.now() - s0;
        if (!Number.isFinite(loss)) {
          throw new TrainingDivergedError(`the loss became ${loss} at epoch ${e + 1}, batch ${index + 1}: training diverged (learning rate ${state.learningRate}); start a new run (another --out) with a lower --lr than ${cfg.learningRate}, e.g. ${cfg.learningRate / 10}`);
        }
        lossSum += loss;
        lossCount++;
        state.batch = index + 1;
        steps++;
        hooks.onStep?.({ epoch: e, batch: index + 1, batches, loss, imagesPerSecond: (lossCount * cfg.batchSize) / ((performance.now() - t0) / 1000) });
      };
      for await (const b of trainPipe.batches(order, cfg.batchSize, 'train', seed, state.batch)) {
        const s0 = performance.now();
        const loss = pool.step(params, sgd, b.x, b.labels, b.size, batchSeed(seed ^ 0x2545f491, b.index));
        loss.catch(() => {}); // its failure is reported when it is settled
        stepMs += performance.now() - s0;
        inflight.push({ loss, index: b.index });
        while (inflight.length > depth) await settle();
        atStepLimit = !hooks.signal?.aborted && hooks.maxSteps !== undefined && steps + inflight.length >= hooks.maxSteps;
        if (hooks.signal?.aborted || atStepLimit) {
          interrupted = true;
          break;
        }
      }
      while (inflight.length > 0) await settle();
      const stopHere = async (where: string, seconds = (performance.now() - t0) / 1000) => {
        state.partial = { lossSum, lossCount, seconds, waitMs: trainPipe.waitMs, stepMs };
        checkpoint = await save();
        log(`${atStepLimit ? `stopped at the step limit (${plural(steps, 'step')})` : 'interrupted'} ${where}: saved ${checkpoint}`);
      };
      if (interrupted) {
        await stopHere(`at epoch ${e + 1}, batch ${state.batch}`);
        break;
      }
      const seconds = (performance.now() - t0) / 1000;
      const center = await evaluateSplit(spec, params, valPipe, valOrder, 'center', classes, cfg.batchSize, hooks.signal);
      const ten = center && cfg.tenCropEachEpoch ? await evaluateSplit(spec, params, valPipe, valOrder, 'ten', classes, cfg.batchSize, hooks.signal) : undefined;
      if (!center || (cfg.tenCropEachEpoch && !ten)) {
        // Every step of the epoch is done: a resume only validates it.
        interrupted = true;
        await stopHere(`while validating epoch ${e + 1} (its steps are done; --resume validates it)`, seconds);
        break;
      }
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
      const { error, bestError } = scheduleErrors(state.history, state.bestError);
      const schedule = afterEpoch({ ...state, bestError }, error, cfg);
      Object.assign(state, schedule.state);
      const improved = schedule.improved;
      let dropMessage = '';
      if (schedule.dropped) {
        sgd.learningRate = state.learningRate;
        dropMessage = plateauAllowsMore(state, cfg)
          ? `validation error has not improved for ${plural(cfg.patience, 'epoch')}: learning rate now ${state.learningRate}`
          : `validation error has not improved for ${plural(cfg.patience, 'epoch')} after ${plural(cfg.maxDrops, 'learning-rate drop')}: training ends here, as the paper's schedule does`;
      }
      state.epoch = e + 1;
      state.batch = 0;
      delete state.partial;
      checkpoint = await save(improved);
      await recordEpoch(out, m, state.history, `${preset.name} on ${path.basename(data.dir)}`);
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
  return { checkpoint, state, interrupted, atStepLimit };
}
