/**
 * `alexnet train`: argument handling, progress display, signals. The run itself (its directory,
 * resume, settings) and the loop are in src/train.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PRESET, getPreset } from '../config.js';
import { InterruptedError } from '../errors.js';
import { takeLock } from '../util/dir-lock.js';
import type { TrainConfig } from '../train/run-config.js';
import { readBestEpoch } from '../train/run-dir.js';
import { ensureWritableDir, loadOrPrepare } from './data-command.js';
import { progressBar } from './progress.js';

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
  /** Where the prepared images of a folder go (default DIR/.alexnet-cache-<base>). */
  cache?: string;
  maxPixels?: number;
  resume?: boolean;
  export?: boolean;
  tenCrop?: boolean;
  /** A file of `folder-name label text` lines: the labels the model answers with. */
  labels?: string;
  /** Stop after this many steps of this invocation, saving a checkpoint to resume from. */
  maxSteps?: number;
}

export async function trainCommand(opts: TrainCommandOptions): Promise<void> {
  const made = await ensureWritableDir(opts.out);
  // One process trains a run at a time: two would interleave its checkpoints and metrics.
  const release = await takeLock(path.join(opts.out, RUN_LOCK), `the run directory ${opts.out}`);
  try {
    await trainInto(opts);
  } catch (e) {
    release();
    // A run that failed before its first checkpoint leaves no empty --out behind (rmdir keeps a folder with files).
    if (made) await fs.rmdir(opts.out).catch(() => {});
    throw e;
  } finally {
    release();
  }
}

const RUN_LOCK = '.alexnet-train.lock';

async function trainInto(opts: TrainCommandOptions): Promise<void> {
  const { train } = await import('../train/trainer.js');
  const { newRun, resumeRun, settleBackendDefaults } = await import('../train/training-run.js');
  const { useBackend } = await import('../train/backends.js');
  const { readLabelFile } = await import('../train/label-file.js');
  const request = {
    config: {
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
    },
    ...(opts.dropout !== undefined ? { dropout: opts.dropout } : {}),
    ...(opts.labels !== undefined ? { labelFile: await readLabelFile(opts.labels) } : {}),
  };
  // A resume is checked against its checkpoint first, before any data is prepared.
  const run = opts.resume ? await resumeRun(opts.out, request) : await newRun(opts.out, getPreset(opts.preset ?? DEFAULT_PRESET), request);
  const backend = await useBackend(opts.backend as Parameters<typeof useBackend>[0]);
  console.error(`backend: ${backend.name} (${backend.detail})`);
  const note = settleBackendDefaults(run, backend);
  if (note) console.error(`note: ${note}`);
  const { preset, config } = run;
  const { checkWebgpuFits } = await import('../train/webgpu-limits.js');
  // Before preparing any data, with the fewest classes; again below with the data's.
  const adapter = `the WebGPU adapter (${backend.detail.split(';')[0]})`;
  if (backend.name === 'webgpu') checkWebgpuFits(preset.network, 2, config.batchSize, adapter);
  // A resumed run keeps the network it started with: the data is prepared at its base size.
  // A resume holds out what the run did unless told otherwise (and then checkRunData refuses it).
  const valSplit = opts.valSplit ?? run.resumed?.state.valSplit ?? undefined;
  const data = await loadOrPrepare(opts.data, run.preset, {
    ...(valSplit !== undefined ? { valSplit } : {}),
    ...(opts.cache !== undefined ? { cacheDir: opts.cache } : {}),
    ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}),
  });
  if (backend.name === 'webgpu') checkWebgpuFits(preset.network, data.meta.classes.length, config.batchSize, adapter);
  if (!run.resumed && opts.lr === undefined && config.batchSize !== preset.train.batchSize) {
    console.error(`learning rate ${config.learningRate}: the preset's ${preset.train.learningRate} at batch ${preset.train.batchSize}, scaled to batch ${config.batchSize} (--lr to choose another)`);
  }
  console.error(`training ${preset.name} on ${data.meta.counts.train} images (${data.meta.classes.length} classes), validating on ${data.meta.counts.val}; ${JSON.stringify(config)}`);
  const controller = new AbortController();
  let stoppedBy = '';
  const stop = (signal: string) => {
    if (controller.signal.aborted) return;
    stoppedBy = signal;
    console.error(`\n${signal}: finishing the current step and saving a checkpoint (another Ctrl-C is ignored until it is saved)`);
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let bar = progressBar('epoch 1');
  let barEpoch = -1;
  try {
    const result = await train(run, data, {
      signal: controller.signal,
      ...(opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {}),
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
        // With 5 classes or fewer the top-5 error is always 0: only top-1 is shown.
        const top5 = data.meta.classes.length > 5;
        const errors = (e: { top1: number; top5: number }) => `${(100 * e.top1).toFixed(2)}%${top5 ? ` / ${(100 * e.top5).toFixed(2)}%` : ''}`;
        const ten = m.val.ten ? `, ten-crop ${errors(m.val.ten)}` : '';
        console.error(
          `epoch ${m.epoch}: loss ${m.trainLoss.toFixed(4)}, val ${top5 ? 'top-1/top-5' : 'top-1'} error center ${errors(m.val.center)}${ten}, ` +
            `${m.imagesPerSecond.toFixed(1)} img/s, data wait ${(100 * m.dataWait).toFixed(1)}%, lr ${m.learningRate}`,
        );
        // Guessing among C classes costs ln C: a loss ten times that is a network thrown off by its steps.
        const chance = Math.log(data.meta.classes.length);
        if (m.trainLoss > 10 * chance) console.error(`warning: the training loss ${m.trainLoss.toPrecision(3)} is far above a guess's ${chance.toFixed(2)} (ln ${data.meta.classes.length}): training is diverging; a lower --lr (in a new run) should help`);
      },
    });
    bar.stop();
    const why = result.atStepLimit ? `stopped at the step limit (--max-steps ${opts.maxSteps})` : 'interrupted';
    console.log(`checkpoint: ${result.checkpoint}${result.interrupted ? ` (${why}: continue with --resume)` : ''}`);
    const best = await readBestEpoch(opts.out);
    if (best) console.log(`best: ${path.join(best.dir, 'checkpoint.json')} (${best.summary})`);
    // Only a finished run exports: its best epoch may still be ahead.
    if (opts.export && result.interrupted) console.log(`not exporting: the run ${why} before its end; --resume --export continues and exports when it ends`);
    if (opts.export && !result.interrupted) {
      const { exportCheckpoint } = await import('../export/export-model.js');
      // The epoch that validated best, not merely the last one (the paper reports its best model).
      if (best) console.log(`exporting the best epoch's checkpoint (${best.summary})`);
      const exported = await exportCheckpoint(best ? best.dir : opts.out, path.join(opts.out, 'model.onnx'));
      for (const f of exported.files) console.log(`wrote ${f.path} (${f.form}, ${(f.bytes / 1e6).toFixed(2)} MB)`);
    }
    // Exit 1, as an interrupted preparation does: a script's next step must not take the run as finished.
    if (result.interrupted && !result.atStepLimit) throw new InterruptedError(`training stopped by ${stoppedBy}: the checkpoint is saved; the same command with --resume goes on`);
  } finally {
    bar.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
