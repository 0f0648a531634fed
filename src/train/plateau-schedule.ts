/**
 * The learning-rate schedule of §5: the rate is divided by `lrDropFactor` when the validation
 * error has not improved for `patience` epochs, and training stops after `maxDrops` drops
 * without improvement. The state lives in the run's checkpoint, so a resumed run goes on with it.
 */

import type { EpochMetrics } from './epoch-metrics.js';

export interface PlateauState {
  learningRate: number;
  /** Drops so far. */
  drops: number;
  /** Lowest validation error so far (1 before the first epoch). */
  bestError: number;
  epochsSinceBest: number;
}

export interface PlateauSettings {
  /** The initial rate: every drop is computed from it. */
  learningRate: number;
  lrDropFactor: number;
  patience: number;
  maxDrops: number;
}

export const initialPlateau = (learningRate: number): PlateauState => ({ learningRate, drops: 0, bestError: 1, epochsSinceBest: 0 });

/** Whether the schedule lets training go on: not once more than maxDrops drops have happened. */
export const plateauAllowsMore = (state: PlateauState, settings: PlateauSettings): boolean => state.drops <= settings.maxDrops;

/** The state after an epoch whose validation error is `error`; `improved` and `dropped` say what happened. */
export function afterEpoch(state: PlateauState, error: number, settings: PlateauSettings): { state: PlateauState; improved: boolean; dropped: boolean } {
  if (error < state.bestError - 1e-9) return { state: { ...state, bestError: error, epochsSinceBest: 0 }, improved: true, dropped: false };
  const since = state.epochsSinceBest + 1;
  if (since < settings.patience) return { state: { ...state, epochsSinceBest: since }, improved: false, dropped: false };
  const drops = state.drops + 1;
  // From the initial rate, so repeated division adds no rounding (0.01 / 10 / 10 / 10 = 1.0000000000000002e-5).
  const learningRate = settings.learningRate / settings.lrDropFactor ** drops;
  return { state: { ...state, learningRate, drops, epochsSinceBest: 0 }, improved: false, dropped: true };
}

/**
 * The validation error the schedule follows for the newest epoch of `history` (ten-crop when it
 * was measured, as the paper reports), and the best error so far measured the same way: a resume
 * may turn --ten-crop on or off, and ten-crop errors are lower than center ones, so after a switch
 * the best is taken again from the earlier epochs of the new kind (1 when there are none).
 */
export function scheduleErrors(history: readonly EpochMetrics[], bestError: number): { error: number; bestError: number } {
  const now = history.at(-1)!;
  const kind = (m: EpochMetrics) => (m.val.ten ? 'ten' : 'center');
  const error = (now.val.ten ?? now.val.center).top1;
  const before = history.at(-2);
  if (!before || kind(before) === kind(now)) return { error, bestError };
  const same = history.slice(0, -1).map((m) => (kind(now) === 'ten' ? m.val.ten?.top1 : m.val.center.top1)).filter((e) => e !== undefined);
  return { error, bestError: Math.min(1, ...same) };
}
