/** Parsers of numeric command-line values: a clear message from commander for a bad one. */
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535');
  return n;
}

/** The longest delay Node's timers take: a longer one fires at once (after 1 ms, with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Seconds a timer waits: positive, and at most what Node's timers take once `margin` is applied
 * (grpc-js adds up to 10% of jitter to a connection's age). A --max-connection-age of a month
 * closed every connection 1 ms after it opened.
 */
export function timerSeconds(margin = 1): (value: string) => number {
  const max = Math.floor(MAX_TIMER_MS / 1000 / margin);
  return (value) => {
    const n = positiveNumber(value);
    if (n > max) throw new InvalidArgumentError(`must be at most ${max} seconds (${Math.floor(max / 86_400)} days): Node's timers end at 2^31 ms, and a longer one would fire at once`);
    return n;
  };
}

/** Milliseconds between timer ticks: a positive integer Node's timers take. */
export function timerMs(value: string): number {
  const n = positiveInt(value);
  if (n > MAX_TIMER_MS) throw new InvalidArgumentError(`must be at most ${MAX_TIMER_MS} (milliseconds): Node's timers end at 2^31 ms, and a longer one would fire at once`);
  return n;
}

/** A batching delay: 0 to 10,000 ms (a longer one holds a lone call for as long; Node's timers end at 2^31 ms). */
export function batchDelay(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 10_000) throw new InvalidArgumentError('must be from 0 to 10000 (milliseconds)');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a non-negative number');
  return n;
}

export function percent(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('must be a whole number from 1 to 100');
  return n;
}

export function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('must be a number between 0 and 1');
  return n;
}

export function dropoutRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n < 1)) throw new InvalidArgumentError('must be a number from 0 to less than 1');
  return n;
}

export function niceValue(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 19) throw new InvalidArgumentError('must be a whole number from 0 to 19');
  return n;
}
