/**
 * A training run's directory, laid out once:
 *   <out>/checkpoint.json + weights   the last epoch (or the interrupted step): what --resume reads
 *   <out>/best/                       a copy of the checkpoint of the best validation epoch
 *   <out>/metrics.jsonl               one EpochMetrics line per epoch
 *   <out>/curves.svg                  loss and error curves, redrawn after each epoch
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { CHECKPOINT_FILE, readCheckpointMeta, writeCheckpoint, type CheckpointMeta } from '../model/checkpoint.js';
import type { NamedTensor } from '../model/tensor.js';
import { writeCurves } from './curves.js';
import type { EpochMetrics } from './epoch-metrics.js';
import { plural } from '../util/plural.js';

/** Where the run keeps a copy of the checkpoint of its best validation epoch (a checkpoint directory of its own). */
export const BEST_DIR = 'best';
export const METRICS_FILE = 'metrics.jsonl';
export const CURVES_FILE = 'curves.svg';

const hasCheckpointFile = async (out: string) => (await fs.stat(path.join(out, CHECKPOINT_FILE)).catch(() => null)) !== null;

/** A new run never overwrites another (its checkpoint is hours of work), nor files of the names a run writes. */
export async function refuseExistingRun(out: string): Promise<void> {
  const existing = await readCheckpointMeta(out).catch(() => undefined);
  if (!existing && !(await hasCheckpointFile(out))) {
    const present = (await Promise.all([BEST_DIR, METRICS_FILE].map(async (f) => ((await fs.stat(path.join(out, f)).catch(() => null)) ? f : undefined)))).filter((f) => f !== undefined);
    if (present.length > 0) throw new ConfigError(`${out} holds ${present.join(' and ')} but no checkpoint: a new run would write over them; give another --out, or remove them first`);
    return;
  }
  // Only a checkpoint written by `alexnet train` holds a run --resume can go on with.
  const run = existing?.training as { epoch?: number; config?: unknown } | undefined;
  const done = run?.config ? run.epoch : undefined;
  throw new ConfigError(
    done !== undefined
      ? `${out} already holds a training run (${plural(done, 'epoch')} done): add --resume to go on with it, or give another --out`
      : `${out} already holds a checkpoint: give another --out`,
  );
}

export async function requireCheckpointToResume(out: string): Promise<void> {
  if (!(await hasCheckpointFile(out))) throw new ConfigError(`--resume: ${out} holds no checkpoint.json to resume from`);
}

/** The run's checkpoint, and with `alsoBest` its copy in best/. */
export async function saveRunCheckpoint(out: string, meta: CheckpointMeta, tensors: readonly NamedTensor[], alsoBest: boolean): Promise<string> {
  const written = await writeCheckpoint(out, meta, tensors);
  // The best epoch's copy is written after the run's own checkpoint: a crash between the two
  // leaves best/ one improvement behind, never the run unresumable.
  if (alsoBest) await writeCheckpoint(path.join(out, BEST_DIR), meta, tensors);
  return written;
}

/** After an epoch: its line in metrics.jsonl and the curves of the whole history. */
export async function recordEpoch(out: string, m: EpochMetrics, history: readonly EpochMetrics[], title: string): Promise<void> {
  await fs.appendFile(path.join(out, METRICS_FILE), JSON.stringify(m) + '\n');
  await writeCurves(path.join(out, CURVES_FILE), history, title);
}

export interface BestEpoch {
  /** The best/ checkpoint directory. */
  dir: string;
  /** "epoch 4, validation top-1 error 12.50%" (empty for a checkpoint without training state). */
  summary: string;
}

const trainingOf = (m: CheckpointMeta | undefined) => m?.training as { epoch?: number; bestError?: number } | undefined;

/** The run's best validation epoch, when `out` holds one in best/. */
export async function readBestEpoch(out: string): Promise<BestEpoch | undefined> {
  const dir = path.join(out, BEST_DIR);
  const best = await readCheckpointMeta(dir).catch(() => undefined);
  if (!best) return undefined;
  const { epoch, bestError } = trainingOf(best) ?? {};
  const summary = epoch !== undefined ? `epoch ${epoch}, validation top-1 error ${(100 * (bestError ?? NaN)).toFixed(2)}%` : '';
  return { dir, summary };
}

/** For `alexnet export RUN`: a note when RUN/best holds an epoch other than RUN's own (the last). */
export async function bestBeside(checkpoint: string): Promise<string | undefined> {
  const dir = checkpoint.endsWith('.json') ? path.dirname(checkpoint) : checkpoint;
  const [last, best] = await Promise.all([readCheckpointMeta(dir).catch(() => undefined), readCheckpointMeta(path.join(dir, BEST_DIR)).catch(() => undefined)]);
  const lastEpoch = trainingOf(last)?.epoch;
  const bestEpoch = trainingOf(best)?.epoch;
  if (!last || !best || lastEpoch === bestEpoch) return undefined;
  const err = trainingOf(best)?.bestError;
  return `note: this is the run's last epoch (${lastEpoch}); its best validation epoch is ${bestEpoch}${err !== undefined ? ` (top-1 error ${(100 * err).toFixed(2)}%)` : ''}: alexnet export ${path.join(dir, BEST_DIR)}`;
}
