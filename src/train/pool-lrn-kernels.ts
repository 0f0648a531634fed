/**
 * LRN, its gradient and the max-pool gradient for tfjs-backend-wasm, written as loops over the
 * wasm heap.
 *
 * tfjs-backend-wasm 4.22's own kernels for these three are plain C++ loops that call pow() per
 * window element (LRN, LRNGrad) or rescan every window once per input pixel (MaxPoolGrad), about
 * as slow as all the convolutions together (see bench/RESULTS.md, wasm LRN and pool kernels).
 * The loops below do the same arithmetic once per element: a sliding window sum over channels,
 * the power N^-0.75 from one division and two square roots (beta = 0.75 in every preset; other
 * betas use Math.pow), and one pass over the windows that adds each output's gradient to its
 * argmax. Speed-up of a whole step: `npm run bench:train`.
 *
 * Semantics are tfjs's (and TensorFlow's): LRN(x)_d = x_d / (bias + alpha * sum_{|j-d|<=r} x_j^2)^beta
 * over the channel axis of NHWC; LRNGrad takes x, y = LRN(x) and dy; MaxPoolGrad gives each
 * window's gradient to its first maximum in row-major order, as tfjs's cpu backend does. The
 * tests hold them to the paper's formula written naively and to the cpu backend's own kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

export interface LrnParams {
  depthRadius: number;
  bias: number;
  alpha: number;
  beta: number;
}

/**
 * sum[d] = sum of x^2 over channels [d-r, d+r] of the pixel starting at `base`: a sliding window
 * in double precision (the square of a float32 is exact in a double).
 */
function windowSums(x: Float32Array, base: number, channels: number, r: number, sum: Float64Array): void {
  let s = 0;
  const first = Math.min(r, channels - 1);
  for (let c = 0; c <= first; c++) {
    const v = x[base + c]!;
    s += v * v;
  }
  for (let d = 0; d < channels; d++) {
    sum[d] = s;
    if (d + r + 1 < channels) {
      const v = x[base + d + r + 1]!;
      s += v * v;
    }
    if (d - r >= 0) {
      const v = x[base + d - r]!;
      s -= v * v;
    }
  }
}

/**
 * y = LRN(x), x and y [pixels * channels] in NHWC order. N^-0.75 (the paper's beta) is
 * rq * sqrt(rq) with rq = 1/sqrt(N); other betas go through Math.pow. A zero input (half of
 * them after a ReLU) gives its own zero without the power.
 */
export function lrnLoop(x: Float32Array, y: Float32Array, channels: number, p: LrnParams): void {
  const { depthRadius: r, bias, alpha, beta } = p;
  const fast = beta === 0.75;
  const sum = new Float64Array(channels);
  for (let base = 0; base < x.length; base += channels) {
    windowSums(x, base, channels, r, sum);
    for (let d = 0; d < channels; d++) {
      const v = x[base + d]!;
      if (v === 0) {
        y[base + d] = v;
        continue;
      }
      const n = bias + alpha * sum[d]!;
      let inv: number;
      if (fast) {
        const rq = 1 / Math.sqrt(n);
        inv = rq * Math.sqrt(rq);
      } else {
        inv = Math.pow(n, -beta);
      }
      y[base + d] = v * inv;
    }
  }
}

/**
 * dx of LRN: dx_k = dy_k * N_k^-beta - 2 * alpha * beta * x_k * sum_{|d-k|<=r} dy_d * y_d / N_d
 * (TensorFlow's LRNGrad, with y = x * N^-beta as given).
 */
export function lrnGradLoop(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, channels: number, p: LrnParams): void {
  const { depthRadius: r, bias, alpha, beta } = p;
  const fast = beta === 0.75;
  const sum = new Float64Array(channels);
  const inv = new Float64Array(channels);
  const s = new Float64Array(channels);
  const scale = -2 * alpha * beta;
  const first = Math.min(r, channels - 1);
  for (let base = 0; base < x.length; base += channels) {
    windowSums(x, base, channels, r, sum);
    for (let d = 0; d < channels; d++) {
      const n = bias + alpha * sum[d]!;
      let recip: number;
      if (fast) {
        const rq = 1 / Math.sqrt(n);
        inv[d] = rq * Math.sqrt(rq);
        recip = rq * rq;
      } else {
        inv[d] = Math.pow(n, -beta);
        recip = 1 / n;
      }
      s[d] = dy[base + d]! * y[base + d]! * recip;
    }
    let w = 0;
    for (let d = 0; d <= first; d++) w += s[d]!;
    for (let k = 0; k < channels; k++) {
      dx[base + k] = dy[base + k]! * inv[k]! + scale * x[base + k]! * w;
      if (k + r + 1 < channels) w += s[k + r + 1]!;
      if (k - r >= 0) w -= s[k - r]!;
    }
  }
}

export interface PoolGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** dx of a max pool: each output's dy goes to its window's first maximum (row-major). dx is overwritten. */
export function maxPoolGradLoop(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry): void {
  const C = g.channels;
  dx.fill(0);
  const best = new Float64Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < g.batch; b++) {
    for (let oh = 0; oh < g.outHeight; oh++) {
      const r0 = oh * g.strideHeight - g.padTop;
      const r1 = Math.min(g.inHeight, r0 + g.filterHeight);
      for (let ow = 0; ow < g.outWidth; ow++) {
        const c0 = ow * g.strideWidth - g.padLeft;
        const c1 = Math.min(g.inWidth, c0 + g.filterWidth);
        best.fill(-Infinity);
        at.fill(-1);
        for (let xr = Math.max(0, r0); xr < r1; xr++) {
          for (let xc = Math.max(0, c0); xc < c1; xc++) {
            const base = ((b * g.inHeight + xr) * g.inWidth + xc) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        }
        const out = ((b * g.outHeight + oh) * g.outWidth + ow) * C;
        for (let c = 0; c < C; c++) {
          const i = at[c]!;
          if (i >= 0) dx[i] = dx[i]! + dy[out + c]!;
        }
      }
    }
  }
}

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

function checkFloat(kernel: string, ...ts: TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`${kernel}: expected float32, got ${t.dtype}`);
}

const lrnKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  checkFloat('LRN', x);
  const b = backend as unknown as WasmHeapBackend;
  const out = b.makeOutput([...x.shape], 'float32');
  // Views after makeOutput: growing the heap detaches earlier views.
  lrnLoop(b.typedArrayFromHeap(x), b.typedArrayFromHeap(out), x.shape[3]!, attrs as unknown as LrnParams);
  return out;
};

const lrnGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, y, dy } = inputs as { x: TensorInfo; y: TensorInfo; dy: TensorInfo };
  checkFloat('LRNGrad', x, y, dy);
  const b = backend as unknown as WasmHeapBackend;
  const dx = b.makeOutput([...x.shape], 'float32');
  lrnGradLoop(b.typedArrayFromHeap(x), b.typedArrayFromHeap(y), b.typedArrayFromHeap(dy), b.typedArrayFromHeap(dx), x.shape[3]!, attrs as unknown as LrnParams);
  return dx;
};

const maxPoolGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  checkFloat('MaxPoolGrad', dy, input);
  const a = attrs as unknown as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const b = backend as unknown as WasmHeapBackend;
  const dx = b.makeOutput([...input.shape], 'float32');
  maxPoolGradLoop(b.typedArrayFromHeap(input), b.typedArrayFromHeap(dy), b.typedArrayFromHeap(dx), {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    channels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.effectiveFilterHeight,
    filterWidth: info.effectiveFilterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  });
  return dx;
};

const KERNELS = [
  ['LRN', lrnKernel],
  ['LRNGrad', lrnGradKernel],
  ['MaxPoolGrad', maxPoolGradKernel],
] as const;
let tfjsOwn: tf.KernelConfig[] | null = null;

/**
 * Replace wasm's LRN, LRNGrad and MaxPoolGrad by the loops above (`project` true, what training
 * uses), or put tfjs-backend-wasm's own back (`project` false: for side-by-side benchmarks).
 */
export function registerWasmPoolLrnKernels(project = true): void {
  tfjsOwn ??= KERNELS.map(([name]) => tf.getKernel(name, 'wasm')).filter((k): k is tf.KernelConfig => k !== undefined);
  for (const [kernelName, kernelFunc] of KERNELS) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    const own = tfjsOwn.find((k) => k.kernelName === kernelName);
    // tfjs's own kernels already ran their setup when the backend started: the function suffices.
    tf.registerKernel(project || !own ? { kernelName, backendName: 'wasm', kernelFunc } : { ...own, setupFunc: undefined });
  }
}
