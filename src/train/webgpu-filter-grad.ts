/**
 * Conv2DBackpropFilter for tfjs-backend-webgpu: a tiled, split-K matrix product in WGSL.
 *
 * tfjs-backend-webgpu 4.22 gives each filter weight one thread and a serial loop over
 * batch x output height x output width (387,200 steps for the paper's conv1 at batch 128), with
 * only as many threads as weights. The filter gradient is a matrix product:
 *
 *   dW[m, n] = sum_p A[m, p] * B[p, n]      m = (kh, kw, ci), n = co, p = (b, oh, ow)
 *   A[m, p] = x[b, oh*sh + kh - top, ow*sw + kw - left, ci]   (0 outside the image)
 *   B[p, n] = dy[b, oh, ow, co]
 *
 * M and N are small (363 x 96 for conv1) and K is large, so the work is split along K as well:
 * workgroup (i, j, z) computes the 64 x 64 tile (i, j) over the z-th slice of K, 16 at a time
 * through workgroup memory, each of its 256 threads holding a 4 x 4 block of sums; a second
 * program adds the slices. dW keeps tfjs's layout [KH, KW, Ci, Co], which is row-major (m, n).
 */
import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { flatLayout, int, type WebgpuBackendLike, type WgslProgram } from './webgpu-program.js';

const TILE = 64;
const TILE_K = 16;
/** Enough workgroups to fill a large GPU several times over (an H100 has 132 SMs). */
const TARGET_WORKGROUPS = 1024;
/** The least K a slice gets, so the slices' partial sums stay few. */
const MIN_SLICE = 256;

export interface SplitPlan {
  tilesM: number;
  tilesN: number;
  splits: number;
  slice: number;
}

/** How many K slices, and how long each, for an M x N x K product. */
export function planSplitK(m: number, n: number, k: number): SplitPlan {
  const tilesM = Math.ceil(m / TILE);
  const tilesN = Math.ceil(n / TILE);
  const wanted = Math.ceil(TARGET_WORKGROUPS / (tilesM * tilesN));
  const most = Math.max(1, Math.floor(k / MIN_SLICE));
  const splits0 = Math.max(1, Math.min(wanted, most));
  const slice = Math.ceil(k / splits0 / TILE_K) * TILE_K;
  return { tilesM, tilesN, splits: Math.ceil(k / slice), slice };
}

function partialProgram(plan: SplitPlan, m: number, n: number): WgslProgram {
  return {
    variableNames: ['x', 'dy'],
    outputShape: [plan.splits, m * n],
    shaderKey: 'alexnet_filter_grad_partial',
    dispatchLayout: { x: [1], y: [0] },
    dispatch: [plan.tilesN, plan.tilesM, plan.splits],
    workgroupSize: [16, 16, 1],
    uniforms:
      'M : i32, N : i32, K : i32, slice : i32, steps : i32, inH : i32, inW : i32, inC : i32, kW : i32, outH : i32, outW : i32, strideH : i32, strideW : i32, padTop : i32, padLeft : i32,',
    getUserCode: () => `
      var<workgroup> tileA : array<array<f32, ${TILE}>, ${TILE_K}>;
      var<workgroup> tileB : array<array<f32, ${TILE}>, ${TILE_K}>;

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let flat = ty * 16 + tx;
        let m0 = i32(workgroupId.y) * ${TILE};
        let n0 = i32(workgroupId.x) * ${TILE};
        let start = i32(workgroupId.z) * uniforms.slice;
        let end = min(uniforms.K, start + uniforms.slice);
        // Each thread loads one column of each tile (element flat % 64) at rows r0, r0 + 4,
        // r0 + 8, r0 + 12: its m, and so (kh, kw, ci), never changes, and its four p = (b, oh, ow)
        // advance by 16 a step, carried without dividing.
        let col = flat % ${TILE};
        let r0 = flat / ${TILE};
        let m = m0 + col;
        let mOk = m < uniforms.M;
        let ci = m % uniforms.inC;
        let tap = m / uniforms.inC;
        let offW = tap % uniforms.kW - uniforms.padLeft;
        let offH = tap / uniforms.kW - uniforms.padTop;
        let n = n0 + col;
        let nOk = n < uniforms.N;
        var pb : array<i32, 4>;
        var ph : array<i32, 4>;
        var pw : array<i32, 4>;
        for (var i = 0; i < 4; i++) {
          let p = start + r0 + 4 * i;
          pw[i] = p % uniforms.outW;
          let q = p / uniforms.outW;
          ph[i] = q % uniforms.outH;
          pb[i] = q / uniforms.outH;
        }
        var acc : array<array<f32, 4>, 4>;
        // The step count comes from a uniform, so every thread reaches each barrier.
        for (var step = 0; step < uniforms.steps; step++) {
          let k0 = start + step * ${TILE_K};
          for (var i = 0; i < 4; i++) {
            let row = r0 + 4 * i;
            let p = k0 + row;
            var a = 0.0;
            var b = 0.0;
            if (p < end) {
              let ih = ph[i] * uniforms.strideH + offH;
              let iw = pw[i] * uniforms.strideW + offW;
              if (mOk && ih >= 0 && ih < uniforms.inH && iw >= 0 && iw < uniforms.inW) {
                a = x[((pb[i] * uniforms.inH + ih) * uniforms.inW + iw) * uniforms.inC + ci];
              }
              if (nOk) {
                b = dy[p * uniforms.N + n];
              }
            }
            tileA[row][col] = a;
            tileB[row][col] = b;
            pw[i] += ${TILE_K};
            while (pw[i] >= uniforms.outW) {
              pw[i] -= uniforms.outW;
              ph[i] += 1;
            }
            while (ph[i] >= uniforms.outH) {
              ph[i] -= uniforms.outH;
              pb[i] += 1;
            }
          }
          workgroupBarrier();
          for (var kk = 0; kk < ${TILE_K}; kk++) {
            var av : array<f32, 4>;
            var bv : array<f32, 4>;
            for (var i = 0; i < 4; i++) {
              av[i] = tileA[kk][ty + 16 * i];
              bv[i] = tileB[kk][tx + 16 * i];
            }
            for (var i = 0; i < 4; i++) {
              for (var j = 0; j < 4; j++) {
                acc[i][j] = fma(av[i], bv[j], acc[i][j]);
              }
            }
          }
          workgroupBarrier();
        }
        let out0 = i32(workgroupId.z) * uniforms.M * uniforms.N;
        for (var i = 0; i < 4; i++) {
          let om = m0 + ty + 16 * i;
          for (var j = 0; j < 4; j++) {
            let on = n0 + tx + 16 * j;
            if (om < uniforms.M && on < uniforms.N) {
              result[out0 + om * uniforms.N + on] = acc[i][j];
            }
          }
        }
      }
    `,
  };
}

function sumSlicesProgram(shape: number[]): WgslProgram {
  return {
    variableNames: ['partial'],
    outputShape: shape,
    shaderKey: 'alexnet_sum_slices',
    uniforms: 'slices : i32,',
    ...flatLayout(shape),
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.size) {
          return;
        }
        var s = 0.0;
        for (var z = 0; z < uniforms.slices; z++) {
          s = s + partial[z * uniforms.size + index];
        }
        result[index] = s;
      }
    `,
  };
}

export const webgpuConv2DBackpropFilter: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as { strides: [number, number] | number; pad: 'valid' | 'same' | number; dataFormat?: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
    if ((a.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error('Conv2DBackpropFilter (webgpu, project kernel): only NHWC is supported');
    const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const gpu = backend as unknown as WebgpuBackendLike;
    const m = info.filterHeight * info.filterWidth * info.inChannels;
    const n = info.outChannels;
    const k = info.batchSize * info.outHeight * info.outWidth;
    const plan = planSplitK(m, n, k);
    const partial = gpu.runWebGPUProgram(partialProgram(plan, m, n), [x, dy], 'float32', [
      int(m), int(n), int(k), int(plan.slice), int(plan.slice / TILE_K),
      int(info.inHeight), int(info.inWidth), int(info.inChannels), int(info.filterWidth),
      int(info.outHeight), int(info.outWidth), int(info.strideHeight), int(info.strideWidth),
      int(info.padInfo.top), int(info.padInfo.left),
    ]);
    const dw = gpu.runWebGPUProgram(sumSlicesProgram([...a.filterShape]), [partial], 'float32', [int(plan.splits)]);
    gpu.disposeData(partial.dataId);
    return dw;
  },
};
