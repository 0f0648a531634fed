/**
 * `alexnet train` and `alexnet data ...`: argument handling, progress display, signals. The
 * work itself is in src/train.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { getPreset, type Preset } from '../config.js';
import { readCheckpointMeta, type CheckpointMeta } from '../model/checkpoint.js';
import type { TrainConfig } from '../train/trainer.js';
import { ConfigError } from '../errors.js';
import { cacheExists, cacheState, readDataCache, type DataCache } from '../train/data-cache.js';
import { prepareFashionMnist } from '../train/fashion-mnist.js';
import { prepareFolder } from '../train/prepare-folder.js';

export function progressBar(label: string): { update: (done: number, total: number, extra?: string) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    // A log file, not a terminal: a line every 10 s, with the ETA a terminal's bar would show.
    let last = 0;
    let start: { at: number; done: number } | undefined;
    return {
      update: (done, total, extra = '') => {
        const now = Date.now();
        start ??= { at: now, done };
        if (now - last > 10_000 || done === total) {
          last = now;
          const rate = (done - start.done) / Math.max(1, now - start.at);
          const eta = done < total && rate > 0 ? ` | ETA ${formatSeconds((total - done) / rate / 1000)}` : '';
          console.error(`${label}: ${done}/${total}${eta}${extra ? ` | ${extra}` : ''}`);
        }
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} | ETA {eta_formatted} | {extra}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total, extra = '') => {
      if (!started) {
        bar.start(total, 0, { extra });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { extra });
    },
    stop: () => started && bar.stop(),
  };
}

/** 75 -> "1m15s", 4000 -> "1h06m". */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export const defaultCacheDir = (data: string, base: number) => path.join(data, `.alexnet-cache-${base}`);

/**
 * The prepared data for `dataDir`: the directory itself when it is a prepared cache, else the
 * cache beside its images, prepared now if it does not exist yet.
 */
export async function loadOrPrepare(dataDir: string, preset: Preset, valSplit?: number): Promise<DataCache> {
  if (await cacheExists(dataDir)) return readDataCache(dataDir);
  const cache = defaultCacheDir(dataDir, preset.network.baseSize);
  const state = await cacheState(cache);
  if (state !== 'current') {
    // This cache is derived from DIR by us, so an outdated one is simply made again.
    if (state === 'stale') console.error(`${cache} was prepared by another version of alexnet: preparing it again`);
    const bar = progressBar('preparing images');
    try {
      await prepareFolder({
        data: dataDir,
        out: cache,
        base: preset.network.baseSize,
        ...(valSplit !== undefined ? { valSplit } : {}),
        warn: (m) => console.error(`warning: ${m}`),
        onProgress: (d, t) => bar.update(d, t),
      });
    } finally {
      bar.stop();
    }
  }
  return readDataCache(cache);
}

export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    const probe = path.join(dir, `.write-test-${process.pid}`);
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (e) {
    throw new ConfigError(`output directory ${dir} is not writable: ${(e as Error).message}`);
  }
}

export async function dataPrepareCommand(dataDir: string, opts: { preset: string; valSplit?: number; out?: string }): Promise<void> {
  const preset = getPreset(opts.preset);
  const out = opts.out ?? defaultCacheDir(dataDir, preset.network.baseSize);
  const bar = progressBar('preparing images');
  const meta = await prepareFolder({
    data: dataDir,
    out,
    base: preset.network.baseSize,
    ...(opts.valSplit !== undefined ? { valSplit: opts.valSplit } : {}),
    warn: (m) => console.error(`warning: ${m}`),
    onProgress: (d, t) => bar.update(d, t),
  }).finally(() => bar.stop());
  console.log(`prepared ${out}: ${meta.classes.length} classes, ${JSON.stringify(meta.counts)} images, ${meta.skipped.length} skipped`);
}

export async function fashionMnistCommand(opts: { out: string; preset: string; val?: number; limit?: number; source?: string }): Promise<void> {
  const preset = getPreset(opts.preset);
  await ensureWritableDir(opts.out);
  const bar = progressBar('converting Fashion-MNIST');
  const meta = await prepareFashionMnist({
    out: opts.out,
    base: preset.network.baseSize,
    ...(opts.val !== undefined ? { valCount: opts.val } : {}),
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    ...(opts.source ? { source: opts.source } : {}),
    onProgress: (d, t) => bar.update(d, t),
  }).finally(() => bar.stop());
  console.log(`prepared ${opts.out}: ${JSON.stringify(meta.counts)} images at ${meta.base}x${meta.base}`);
}

export interface TrainCommandOptions {
  data: string;
  /** Absent: 'mini' for a new run, the checkpoint's for --resume (likewise seed and tenCrop). */
  preset?: string;
  out: string;
  backend: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** The paper's 0.0005 unless given (a new run only). */
  weightDecay?: number;
  /** Dropout on fc6/fc7: the paper's 0.5 unless given (a new run only; it is part of the network). */
  dropout?: number;
  patience?: number;
  seed?: number;
  workers?: number;
  threads?: number;
  valSplit?: number;
  resume?: boolean;
  export?: boolean;
  tenCrop?: boolean;
}

/** For `alexnet export RUN`: a note when RUN/best holds an epoch other than RUN's own (the last). */
export async function bestBeside(checkpoint: string): Promise<string | undefined> {
  const { BEST_DIR } = await import('../train/trainer.js');
  const dir = checkpoint.endsWith('.json') ? path.dirname(checkpoint) : checkpoint;
  const [last, best] = await Promise.all([readCheckpointMeta(dir).catch(() => undefined), readCheckpointMeta(path.join(dir, BEST_DIR)).catch(() => undefined)]);
  const epochOf = (m: CheckpointMeta | undefined) => (m?.training as { epoch?: number } | undefined)?.epoch;
  if (!last || !best || epochOf(last) === epochOf(best)) return undefined;
  const err = (best.training as { bestError?: number }).bestError;
  return `note: this is the run's last epoch (${epochOf(last)}); its best validation epoch is ${epochOf(best)}${err !== undefined ? ` (top-1 error ${(100 * err).toFixed(2)}%)` : ''}: alexnet export ${path.join(dir, BEST_DIR)}`;
}

export async function trainCommand(opts: TrainCommandOptions): Promise<void> {
  const { train, resumeConfig, BEST_DIR } = await import('../train/trainer.js');
  const { useBackend } = await import('../train/backends.js');
  await ensureWritableDir(opts.out);
  const requested: Partial<TrainConfig> = {
    preset: opts.preset as TrainConfig['preset'] | undefined,
    batchSize: opts.batchSize,
    learningRate: opts.lr,
    weightDecay: opts.weightDecay,
    patience: opts.patience,
    epochs: opts.epochs,
    seed: opts.seed,
    workers: opts.workers,
    threads: opts.threads,
    tenCropEachEpoch: opts.tenCrop,
  };
  // A resume is checked against its checkpoint first, before any data is prepared.
  let saved: { meta: CheckpointMeta; config: TrainConfig } | undefined;
  if (!opts.resume) {
    // A new run never overwrites another: its checkpoint is hours of work.
    const existing = await readCheckpointMeta(opts.out).catch(() => undefined);
    if (existing || (await fs.stat(path.join(opts.out, 'checkpoint.json')).catch(() => null))) {
      // Only a checkpoint written by `alexnet train` holds a run --resume can go on with.
      const run = existing?.training as { epoch?: number; config?: unknown } | undefined;
      const done = run?.config ? run.epoch : undefined;
      throw new ConfigError(
        done !== undefined
          ? `${opts.out} already holds a training run (${done} epochs done): add --resume to go on with it, or give another --out`
          : `${opts.out} already holds a checkpoint: give another --out`,
      );
    }
  } else {
    if (!(await fs.stat(path.join(opts.out, 'checkpoint.json')).catch(() => null))) {
      throw new ConfigError(`--resume: ${opts.out} holds no checkpoint.json to resume from`);
    }
    const meta = await readCheckpointMeta(opts.out);
    const config = (meta.training as { config?: TrainConfig } | undefined)?.config;
    if (!config) throw new ConfigError(`${opts.out} holds no training state to resume (it was not written by 'alexnet train')`);
    saved = { meta, config: resumeConfig(config, requested, opts.out) };
    if (opts.dropout !== undefined && opts.dropout !== meta.network.dropout) {
      throw new ConfigError(
        `${opts.out} was started with dropout ${meta.network.dropout}, not ${opts.dropout}: a resumed run keeps its network; train into a new --out to change it`,
      );
    }
  }
  // A resumed run keeps the network it started with: prepare the data at its base size.
  const named = getPreset(opts.preset ?? saved?.meta.preset ?? 'mini');
  const preset: Preset = saved
    ? { ...named, network: saved.meta.network }
    : opts.dropout !== undefined
      ? { ...named, network: { ...named.network, dropout: opts.dropout } }
      : named;
  const data = await loadOrPrepare(opts.data, preset, opts.valSplit);
  const backend = await useBackend(opts.backend as Parameters<typeof useBackend>[0]);
  console.error(`backend: ${backend.name} (${backend.detail})`);
  const t = preset.train;
  // tfjs runs wasm and cpu on one thread: shard each batch over the cores instead.
  const threads = backend.name === 'wasm' || backend.name === 'cpu' ? os.availableParallelism() : 1;
  const config: TrainConfig = saved
    ? // A checkpoint older than --threads saved none: the default, not a single thread.
      { ...saved.config, threads: saved.config.threads ?? threads }
    : {
        preset: preset.name,
        batchSize: opts.batchSize ?? t.batchSize,
        learningRate: opts.lr ?? t.learningRate,
        momentum: t.momentum,
        weightDecay: opts.weightDecay ?? t.weightDecay,
        lrDropFactor: t.lrDropFactor,
        patience: opts.patience ?? t.patience,
        maxDrops: 3,
        epochs: opts.epochs ?? t.epochs,
        seed: opts.seed ?? 1,
        lightingStd: 0.1,
        workers: opts.workers ?? 1,
        threads: opts.threads ?? threads,
        tenCropEachEpoch: opts.tenCrop ?? true,
      };
  console.error(`training ${preset.name} on ${data.meta.counts.train} images (${data.meta.classes.length} classes), validating on ${data.meta.counts.val}; ${JSON.stringify(config)}`);
  const controller = new AbortController();
  const stop = (signal: string) => {
    if (controller.signal.aborted) return;
    console.error(`\n${signal}: finishing the current step and saving a checkpoint (press again to wait)`);
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let bar = progressBar('epoch 1');
  let barEpoch = -1;
  try {
    const result = await train(preset, data, opts.out, config, opts.resume ?? false, {
      signal: controller.signal,
      log: (line) => console.error(line),
      onStep: (s) => {
        if (s.epoch !== barEpoch) {
          bar.stop();
          bar = progressBar(`epoch ${s.epoch + 1}/${config.epochs}`);
          barEpoch = s.epoch;
        }
        bar.update(s.batch, s.batches, `loss ${s.loss.toFixed(3)} | ${s.imagesPerSecond.toFixed(1)} img/s`);
      },
      onEpoch: (m) => {
        bar.stop();
        const ten = m.val.ten ? `, ten-crop ${(100 * m.val.ten.top1).toFixed(2)}% / ${(100 * m.val.ten.top5).toFixed(2)}%` : '';
        console.error(
          `epoch ${m.epoch}: loss ${m.trainLoss.toFixed(4)}, val top-1/top-5 error center ${(100 * m.val.center.top1).toFixed(2)}% / ${(100 * m.val.center.top5).toFixed(2)}%${ten}, ` +
            `${m.imagesPerSecond.toFixed(1)} img/s, data wait ${(100 * m.dataWait).toFixed(1)}%, lr ${m.learningRate}`,
        );
      },
    });
    bar.stop();
    console.log(`checkpoint: ${result.checkpoint}${result.interrupted ? ' (interrupted: continue with --resume)' : ''}`);
    const bestDir = path.join(opts.out, BEST_DIR);
    const best = await readCheckpointMeta(bestDir).catch(() => undefined);
    const bestState = best?.training as { epoch?: number; bestError?: number } | undefined;
    const bestWhat = bestState?.epoch !== undefined ? `epoch ${bestState.epoch}, validation top-1 error ${(100 * (bestState.bestError ?? NaN)).toFixed(2)}%` : '';
    if (best) console.log(`best: ${path.join(bestDir, 'checkpoint.json')} (${bestWhat})`);
    if (opts.export && !result.interrupted) {
      const { exportCheckpoint } = await import('../export/export-model.js');
      // The epoch that validated best, not merely the last one (the paper reports its best model).
      if (best) console.log(`exporting the best epoch's checkpoint (${bestWhat})`);
      const exported = await exportCheckpoint(best ? bestDir : opts.out, path.join(opts.out, 'model.onnx'));
      for (const f of exported.files) console.log(`wrote ${f.path} (${f.form}, ${(f.bytes / 1e6).toFixed(2)} MB)`);
    }
  } finally {
    bar.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
