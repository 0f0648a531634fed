/**
 * The learning-rate schedule of §5: the rate is divided by `lrDropFactor` when the validation
 * error has not improved for `patience` epochs, and training stops after `maxDrops` drops
 * without improvement. The state lives in the run's checkpoint, so a resumed run goes on with it.
 */

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
