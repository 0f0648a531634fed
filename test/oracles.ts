/** Naive oracles shared by tests, written from the paper's formulas, never from the code under test. */

/** b[i] = a[i] / (k + alpha * sum_{j=max(0,i-n/2)}^{min(N-1,i+n/2)} a[j]^2)^beta, over channels, NHWC (§3.3). */
export function paperLrn(a: Float32Array, pixels: number, channels: number, n: number, k: number, alpha: number, beta: number): Float64Array {
  const b = new Float64Array(a.length);
  const half = Math.floor(n / 2);
  for (let p = 0; p < pixels; p++) {
    for (let i = 0; i < channels; i++) {
      let sum = 0;
      for (let j = Math.max(0, i - half); j <= Math.min(channels - 1, i + half); j++) sum += a[p * channels + j]! ** 2;
      b[p * channels + i] = a[p * channels + i]! / (k + alpha * sum) ** beta;
    }
  }
  return b;
}

/** max |got - want| over max |want|. */
export function maxRelativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!));
    maxRef = Math.max(maxRef, Math.abs(want[i]!));
  }
  return maxDiff / maxRef;
}
