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

/** d/da_k of sum_i dy_i * b_i, b the paper's LRN: the derivative written out term by term. */
export function paperLrnGrad(a: Float32Array, dy: Float32Array, channels: number, p: { depthRadius: number; bias: number; alpha: number; beta: number }): Float64Array {
  const dx = new Float64Array(a.length);
  const r = p.depthRadius;
  for (let base = 0; base < a.length; base += channels) {
    for (let i = 0; i < channels; i++) {
      let sum = 0;
      for (let j = Math.max(0, i - r); j <= Math.min(channels - 1, i + r); j++) sum += a[base + j]! ** 2;
      const n = p.bias + p.alpha * sum;
      // b_i = a_i n^-beta; d b_i / d a_k = [i = k] n^-beta - 2 alpha beta a_i a_k n^(-beta-1) for k in i's window.
      dx[base + i]! += dy[base + i]! * n ** -p.beta;
      for (let k = Math.max(0, i - r); k <= Math.min(channels - 1, i + r); k++) {
        dx[base + k]! -= dy[base + i]! * 2 * p.alpha * p.beta * a[base + i]! * a[base + k]! * n ** (-p.beta - 1);
      }
    }
  }
  return dx;
}

/**
 * Every (output position, filter tap) pair of an NHWC convolution whose input pixel lies inside
 * the image: `visit(xPixel, dyPixel, tap)` with the element offsets of x's pixel [b, ih, iw, 0]
 * and dy's [b, oh, ow, 0], and tap = kh * KW + kw, where ih = oh*s + kh - top, iw = ow*s + kw - left.
 */
function convTaps(
  xShape: readonly number[], dyShape: readonly number[], k: readonly [number, number], stride: readonly [number, number],
  top: number, left: number, visit: (xPixel: number, dyPixel: number, tap: number) => void,
): void {
  const [n, h, w, ci] = xShape as [number, number, number, number];
  const [, oh, ow, co] = dyShape as [number, number, number, number];
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let c = 0; c < ow; c++) {
        for (let kh = 0; kh < k[0]; kh++) {
          const ih = r * stride[0] + kh - top;
          if (ih < 0 || ih >= h) continue;
          for (let kw = 0; kw < k[1]; kw++) {
            const iw = c * stride[1] + kw - left;
            if (iw >= 0 && iw < w) visit(((b * h + ih) * w + iw) * ci, ((b * oh + r) * ow + c) * co, kh * k[1] + kw);
          }
        }
      }
    }
  }
}

/** dW[kh,kw,ci,co] = sum over (b, oh, ow) of x[b, ih, iw, ci] * dy[b,oh,ow,co], in double precision. */
export function naiveFilterGradient(
  x: Float32Array, xShape: readonly number[], dy: Float32Array, dyShape: readonly number[],
  k: readonly [number, number], stride: readonly [number, number], top: number, left: number,
): Float64Array {
  const ci = xShape[3]!;
  const co = dyShape[3]!;
  const dw = new Float64Array(k[0] * k[1] * ci * co);
  convTaps(xShape, dyShape, k, stride, top, left, (xp, dp, tap) => {
    for (let i = 0; i < ci; i++) {
      const out = (tap * ci + i) * co;
      for (let o = 0; o < co; o++) dw[out + o]! += x[xp + i]! * dy[dp + o]!;
    }
  });
  return dw;
}

/** dx[b, ih, iw, ci] = sum over the taps that read it of w[kh,kw,ci,co] * dy[b,oh,ow,co], in double precision. */
export function naiveInputGradient(
  w: Float32Array, xShape: readonly number[], dy: Float32Array, dyShape: readonly number[],
  k: readonly [number, number], stride: readonly [number, number], top: number, left: number,
): Float64Array {
  const ci = xShape[3]!;
  const co = dyShape[3]!;
  const dx = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  convTaps(xShape, dyShape, k, stride, top, left, (xp, dp, tap) => {
    for (let i = 0; i < ci; i++) {
      const wBase = (tap * ci + i) * co;
      let s = 0;
      for (let o = 0; o < co; o++) s += w[wBase + o]! * dy[dp + o]!;
      dx[xp + i]! += s;
    }
  });
  return dx;
}
