/** The plateau schedule against a naive oracle that rereads the whole error history each epoch. */
import test from 'ava';
import { afterEpoch, initialPlateau, plateauAllowsMore, scheduleErrors, type PlateauSettings } from '../../src/train/plateau-schedule.js';
import { Rng } from '../../src/util/rng.js';

/**
 * The oracle: after each epoch, the epochs since the later of the last improvement and the last
 * drop, counted from the history; a drop when they reach `patience`. The rate is the initial one
 * times (1/factor) once per drop, in exact decimal steps (compared with a relative tolerance).
 */
function oracle(errors: number[], s: PlateauSettings): { lr: number; drops: number; stopAfter: number | undefined } {
  let drops = 0;
  let lastEvent = 0; // epoch (1-based) of the last improvement or drop; 0: the start
  let stopAfter: number | undefined;
  for (let e = 1; e <= errors.length; e++) {
    const before = errors.slice(0, e - 1);
    const best = Math.min(1, ...before);
    if (errors[e - 1]! < best - 1e-9) lastEvent = e;
    else if (e - lastEvent >= s.patience) {
      drops++;
      lastEvent = e;
    }
    if (stopAfter === undefined && drops > s.maxDrops) stopAfter = e;
  }
  let lr = s.learningRate;
  for (let i = 0; i < drops; i++) lr *= 1 / s.lrDropFactor;
  return { lr, drops, stopAfter };
}

test('lr drops, drop count and the stopping epoch follow the oracle on random error histories', (t) => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 300; trial++) {
    const s: PlateauSettings = { learningRate: 0.01, lrDropFactor: 2 + rng.int(9), patience: 1 + rng.int(4), maxDrops: rng.int(4) };
    // Noisy, slowly falling errors with repeats, so plateaus of every length occur.
    const errors = Array.from({ length: 1 + rng.int(40) }, (_, i) => Math.round((0.8 - 0.01 * i + 0.2 * rng.uniform()) * 20) / 20);
    let state = initialPlateau(s.learningRate);
    let stopAfter: number | undefined;
    errors.forEach((err, i) => {
      state = afterEpoch(state, err, s).state;
      if (stopAfter === undefined && !plateauAllowsMore(state, s)) stopAfter = i + 1;
    });
    const want = oracle(errors, s);
    const label = `trial ${trial}: ${JSON.stringify(s)} errors ${errors.join(',')}`;
    t.is(state.drops, want.drops, label);
    t.true(Math.abs(state.learningRate - want.lr) <= 1e-12 * want.lr, label);
    t.is(stopAfter, want.stopAfter, label);
  }
});

test('the paper: 0.01 divided by 10 from the initial rate, exactly 1e-5 after three drops', (t) => {
  const s = { learningRate: 0.01, lrDropFactor: 10, patience: 1, maxDrops: 3 };
  let state = afterEpoch(initialPlateau(0.01), 0.5, s).state;
  for (const want of [0.001, 0.0001, 0.00001]) {
    const r = afterEpoch(state, 0.5, s);
    t.true(r.dropped && !r.improved);
    t.is(r.state.learningRate, want);
    state = r.state;
  }
  t.true(plateauAllowsMore(state, s));
  t.false(plateauAllowsMore(afterEpoch(state, 0.5, s).state, s));
  t.like(afterEpoch(state, 0.4, s), { improved: true, dropped: false, state: { bestError: 0.4, drops: 3 } });
});

test('after a resume turns ten-crop validation off or on, the schedule compares errors of one kind only', (t) => {
  const epoch = (n: number, center: number, ten?: number) => ({
    epoch: n, learningRate: 0.01, trainLoss: 1, seconds: 1, imagesPerSecond: 1, dataWait: 0,
    val: { center: { top1: center, top5: 0, count: 10 }, ...(ten !== undefined ? { ten: { top1: ten, top5: 0, count: 10 } } : {}) },
  });
  // Ten-crop errors 0.30 and 0.25 (center 0.40, 0.35); then center only, 0.33: better than any center before.
  const off = [epoch(1, 0.4, 0.3), epoch(2, 0.35, 0.25), epoch(3, 0.33)];
  t.deepEqual(scheduleErrors(off, 0.25), { error: 0.33, bestError: 0.35 });
  t.true(afterEpoch({ ...initialPlateau(0.01), bestError: 0.35 }, 0.33, { learningRate: 0.01, lrDropFactor: 10, patience: 1, maxDrops: 3 }).improved);
  // On again: against the best ten-crop error of the earlier epochs, not the center ones between.
  const on = [...off, epoch(4, 0.3), epoch(5, 0.31, 0.27)];
  t.deepEqual(scheduleErrors(on, 0.3), { error: 0.27, bestError: 0.25 });
  // No switch: the running best is kept as it is.
  t.deepEqual(scheduleErrors(off.slice(0, 2), 0.25), { error: 0.25, bestError: 0.25 });
  // Switched to ten-crop with no earlier ten-crop epoch: anything is an improvement.
  t.deepEqual(scheduleErrors([epoch(1, 0.5), epoch(2, 0.45, 0.4)], 0.5), { error: 0.4, bestError: 1 });
});
