/**
 * The benches' numeric options, checked the same way everywhere: a value that is not what the
 * option wants ends the bench with a message naming it and exit code 1, before any work (a NaN
 * seconds would otherwise loop forever or time nothing).
 */
export function refuseOption(bench: string, option: string, value: string | undefined, wanted: string): never {
  console.error(`${bench}: --${option} must be ${wanted}, got '${value}'`);
  process.exit(1);
}

/** A finite number > 0 (seconds, sizes). */
export function positiveNumber(bench: string, option: string, value: string | undefined): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n > 0 ? n : refuseOption(bench, option, value, 'a positive number');
}

/** A whole number >= 1 (counts, threads, batch sizes). */
export function positiveInteger(bench: string, option: string, value: string | undefined): number {
  return value !== undefined && /^\s*[1-9][0-9]*\s*$/.test(value) ? Number(value) : refuseOption(bench, option, value, 'a whole number >= 1');
}

/** A comma-separated list of whole numbers >= 1 (concurrency levels). */
export function positiveIntegers(bench: string, option: string, value: string | undefined): number[] {
  const parts = value?.split(',') ?? [];
  return parts.length > 0 && parts.every((p) => /^\s*[1-9][0-9]*\s*$/.test(p))
    ? parts.map(Number)
    : refuseOption(bench, option, value, 'a comma-separated list of whole numbers >= 1');
}

/** A comma-separated list of finite numbers >= 0 (delays in milliseconds). */
export function nonNegativeNumbers(bench: string, option: string, value: string | undefined): number[] {
  const parts = value?.split(',') ?? [];
  return parts.length > 0 && parts.every((p) => p.trim() !== '' && Number.isFinite(Number(p)) && Number(p) >= 0)
    ? parts.map(Number)
    : refuseOption(bench, option, value, 'a comma-separated list of numbers >= 0');
}
