/**
 * One training run, opened once: a new run (its directory checked, its settings built) or a
 * resumed one (its checkpoint read once, its settings merged and checked once, its history
 * migrated). The trainer takes the opened run; nothing else reads a run's checkpoint to resume it.
 */
import { getPreset, type Preset } from '../config.js';
import type { DataCache } from './data-cache.js';
import { ConfigError } from '../errors.js';
import { readCheckpoint } from '../model/checkpoint.js';
import type { NamedTensor } from '../model/tensor.js';
import type { Rng } from '../util/rng.js';
import type { TrainingBackend } from './backends.js';
import { labelsFor, type LabelFile } from './label-file.js';
import { migrateEpochMetrics, type EpochMetrics } from './epoch-metrics.js';
import { plateauAllowsMore, type PlateauState } from './plateau-schedule.js';
import { defaultDataWorkers, defaultThreads, newRunConfig, resumeConfig, type TrainConfig } from './run-config.js';
import { refuseExistingRun, requireCheckpointToResume } from './run-dir.js';

/** What a checkpoint saves of the loop, beside the weights and velocities. */
export interface TrainingState extends PlateauState {
  /** Completed epochs. */
  epoch: number;
  /** Batches already trained in epoch `epoch` (non-zero after an interrupt). */
  batch: number;
  config: TrainConfig;
  history: EpochMetrics[];
  rng: ReturnType<Rng['state']>;
  /** What the run validates on: the fraction of the folder held out (--val-split), or null for a val/ folder (absent in runs of older releases). */
  valSplit?: number | null;
  /** The sums of the interrupted epoch's batches so far, so its metrics, once it ends, cover all of them. */
  partial?: { lossSum: number; lossCount: number; seconds: number; waitMs: number; stepMs: number };
}

export interface TrainingRun {
  /** The run's directory (run-dir.ts). */
  out: string;
  /** The preset by name, with the network this run trains: a resumed run's own, whatever the preset says now. */
  preset: Preset;
  /** The run's settings; for a resumed run the same object as `resumed.state.config`. */
  config: TrainConfig;
  /** Where a resumed run stopped: its state, its tensors (weights and SGD velocities), the labels it learns and their class folders. */
  resumed?: { state: TrainingState; tensors: NamedTensor[]; labels: string[]; classIds?: string[] };
  /** A new run's label texts by class folder (--labels); without it the folders are the labels. */
  labelFile?: LabelFile;
}

export interface RunRequest {
  /** Settings asked for; undefined ones take the preset's defaults (new run) or the saved ones (resume). */
  config: Partial<TrainConfig>;
  /** Dropout on fc6/fc7: part of the network, so a new run's only. */
  dropout?: number;
  /** Label texts by class folder: a new run's labels; a resume only checks they are the ones it has. */
  labelFile?: LabelFile;
}

/** A new run into `out`, refused when `out` already holds a run or a checkpoint. */
export async function newRun(out: string, preset: Preset, request: RunRequest): Promise<TrainingRun> {
  await refuseExistingRun(out);
  const withDropout = request.dropout !== undefined ? { ...preset, network: { ...preset.network, dropout: request.dropout } } : preset;
  return { out, preset: withDropout, config: newRunConfig(withDropout, request.config), ...(request.labelFile ? { labelFile: request.labelFile } : {}) };
}

/** The run saved in `out`, checked against what this resume asks for before any data is read. */
export async function resumeRun(out: string, request: RunRequest): Promise<TrainingRun> {
  await requireCheckpointToResume(out);
  const ck = await readCheckpoint(out);
  const saved = ck.training as unknown as TrainingState | undefined;
  if (!saved?.config) throw new ConfigError(`${out} holds no training state to resume (it was not written by 'alexnet train')`);
  const config = resumeConfig(saved.config, request.config, out);
  if (request.dropout !== undefined && request.dropout !== ck.network.dropout) {
    throw new ConfigError(
      `${out} was started with dropout ${ck.network.dropout}, not ${request.dropout}: a resumed run keeps its network; train into a new --out to change it`,
    );
  }
  if (request.labelFile) {
    const ids = ck.classIds ?? ck.labels;
    const asked = labelsFor(ids, request.labelFile);
    const i = asked.findIndex((l, k) => l !== ck.labels[k]);
    if (i >= 0) {
      throw new ConfigError(
        `${out} was started with the label '${ck.labels[i]}' for class folder ${ids[i]}, not '${asked[i]}' (${request.labelFile.source}): a resumed run keeps its labels; train into a new --out to change them`,
      );
    }
  }
  // A finished run has nothing to go on with: say so rather than train nothing.
  if (saved.epoch >= config.epochs) {
    throw new ConfigError(`${out} has done its ${config.epochs} epochs: pass --epochs with more (e.g. --epochs ${saved.epoch + 10}) to train on`);
  }
  if (!plateauAllowsMore(saved, config)) {
    throw new ConfigError(`${out} ended at epoch ${saved.epoch}: its validation error stopped improving after ${config.maxDrops} learning-rate drops (the paper's schedule); its best epoch is in ${out}/best`);
  }
  const state: TrainingState = { ...saved, config, history: saved.history.map(migrateEpochMetrics) };
  const resumed = { state, tensors: [...ck.tensors.values()], labels: ck.labels, ...(ck.classIds ? { classIds: ck.classIds } : {}) };
  return { out, preset: { ...getPreset(ck.preset), network: ck.network }, config, resumed };
}

/**
 * A run without a thread or batch-worker count (none asked for, or a checkpoint older than the
 * option) gets the backend's defaults.
 */
export function settleBackendDefaults(run: TrainingRun, backend: { name: TrainingBackend; gpu: boolean }): string | undefined {
  run.config.workers ??= defaultDataWorkers(backend.gpu);
  // Gradient threads split a step across CPU cores; a GPU backend runs the whole step on its one
  // device (its kernels cannot run in worker threads). A run resumed from wasm keeps going on one.
  const cpu = backend.name === 'wasm' || backend.name === 'cpu';
  if (!cpu && run.config.threads !== undefined && run.config.threads > 1) {
    const asked = run.config.threads;
    run.config.threads = 1;
    return `--threads ${asked} splits a step across CPU cores (wasm, cpu); ${backend.name} runs it on the GPU: one thread`;
  }
  run.config.threads ??= defaultThreads(backend.name);
  return undefined;
}

/** Refuse data the run cannot train on: another base size, no validation split, fewer images than a batch, other classes. */
export function checkRunData(run: TrainingRun, data: DataCache): void {
  const { out, preset, config, resumed } = run;
  const spec = preset.network;
  if (data.meta.baseSize !== spec.baseSize) {
    const name = preset.name;
    throw new ConfigError(
      `the data was prepared at ${data.meta.baseSize}x${data.meta.baseSize}, ${resumed ? `the run in ${out}` : `the ${preset.name} preset`} needs ${spec.baseSize}x${spec.baseSize}: ` +
        `prepare it for ${name} (alexnet data prepare IMAGE_DIR --preset ${name}, or alexnet data fashion-mnist --preset ${name} --out NEW_DIR) and train on that`,
    );
  }
  const train = data.splits.train!;
  const val = data.splits.val;
  if (!val || val.count === 0) throw new ConfigError('the data has no validation split');
  if (train.count < config.batchSize) {
    throw new ConfigError(`${train.count} training images is fewer than one batch of ${config.batchSize}: ${resumed ? `the run in ${out} needs more images` : `pass --batch-size ${train.count} or less, or add images`}`);
  }
  // A resume validates on the images the run did: its best epoch and lr schedule compare those errors.
  const recorded = resumed?.state.valSplit;
  const now = data.meta.valSplit ?? null;
  if (recorded !== undefined && recorded !== now) {
    const says = (v: number | null) => (v === null ? 'its val folder' : `--val-split ${v}`);
    throw new ConfigError(`${out} validated on ${says(recorded)}, the data now on ${says(now)}: a resume keeps its validation images (${recorded === null ? 'train on the folder with its val/' : `--val-split ${recorded}`})`);
  }
  const classIds = resumed?.classIds ?? resumed?.labels;
  if (classIds && classIds.join('\n') !== data.meta.classes.join('\n')) {
    throw new ConfigError(`${out} was trained on classes [${classIds.join(', ')}], the data has [${data.meta.classes.join(', ')}]`);
  }
}

/** The labels a run's checkpoint saves, and the class folders behind them when they differ (--labels). */
export function runLabels(run: TrainingRun, data: DataCache): { labels: string[]; classIds?: string[] } {
  if (run.resumed) return { labels: run.resumed.labels, ...(run.resumed.classIds ? { classIds: run.resumed.classIds } : {}) };
  const folders = data.meta.classes;
  return run.labelFile ? { labels: labelsFor(folders, run.labelFile), classIds: folders } : { labels: folders };
}
