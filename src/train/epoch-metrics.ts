/**
 * What one epoch of training measured: the line appended to metrics.jsonl and the history a
 * checkpoint carries. A types file so the trainer, the curves and the run directory share it
 * without importing one another.
 */

/** Top-1 / top-5 error rates over `count` images. */
export interface ErrorRates {
  top1: number;
  top5: number;
  count: number;
}

export interface EpochMetrics {
  epoch: number;
  learningRate: number;
  trainLoss: number;
  val: { center: ErrorRates; ten?: ErrorRates };
  seconds: number;
  imagesPerSecond: number;
  /** Fraction of the epoch's step time the loop waited for data. */
  dataWait: number;
}

/**
 * An epoch as read back from an older run: checkpoints and metrics.jsonl written before the
 * center/centre rename hold `val.centre`; this gives it the current name.
 */
export function migrateEpochMetrics(m: EpochMetrics): EpochMetrics {
  const val = m.val as EpochMetrics['val'] & { centre?: ErrorRates };
  if (val.center !== undefined || val.centre === undefined) return m;
  const { centre, ...rest } = val;
  return { ...m, val: { ...rest, center: centre } };
}
