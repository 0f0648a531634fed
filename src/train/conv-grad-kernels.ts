/**
 * Convolution gradients written as forward convolutions, registered as tfjs kernels.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter (tfjs#8474), so a conv net cannot train on
 * it; the cpu backend has one, but as a plain loop far slower than its forward conv (see
 * bench/RESULTS.md, convolution gradients). Both gradients are themselves convolutions:
 *
 *   dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-top, ow*s+kw-left, ci] * dy[n,oh,ow,co]
 *     = Conv2D(input  = x  as [ci, H, W, n]        (batch ci, channels n),
 *              filter = dy as [oh, ow, n, co]       (a kernel the size of the output),
 *              stride 1, dilation s, padding top/left)           -> [ci, kh, kw, co]
 *
 *   dX (stride 1) = Conv2D(dy, W rotated 180 degrees with in/out swapped, padding k-1-pad)
 *
 * so each runs on the backend's own forward convolution (XNNPACK in wasm) through that
 * backend's Transpose / Slice / Reverse kernels. Intermediate tensors are freed at once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

type Backend = tf.KernelBackend & { disposeData(dataId: unknown): boolean };

interface Ctx {
  backend: Backend;
  name: string;
  temps: TensorInfo[];
}

function run(ctx: Ctx, kernel: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>): TensorInfo {
  const config = tf.getKernel(kernel, ctx.name);
  if (!config) throw new Error(`backend ${ctx.name} has no ${kernel} kernel`);
  const out = config.kernelFunc({ inputs, backend: ctx.backend, attrs: attrs as never }) as TensorInfo;
  ctx.temps.push(out);
  return out;
}

/** Run `body`, then free every intermediate except the result. */
function scoped(backend: Backend, name: string, body: (ctx: Ctx) => TensorInfo): TensorInfo {
  const ctx: Ctx = { backend, name, temps: [] };
  const result = body(ctx);
  for (const t of ctx.temps) if (t !== result) backend.disposeData(t.dataId);
  return result;
}

function convInfo(xShape: number[], filterShape: number[], attrs: Record<string, unknown>) {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations as [number, number] | undefined) ?? 1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | undefined) ?? 'NHWC'),
  );
}

/** Conv2DBackpropFilter: inputs x [N,H,W,Ci] and dy [N,OH,OW,Co]; attrs.filterShape [KH,KW,Ci,Co]. */
export function conv2dBackpropFilterAsConv(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Record<string, unknown>;
    const info = convInfo(x.shape, a.filterShape as number[], a);
    if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter: only NHWC is supported');
    return scoped(backend as Backend, backendName, (ctx) => {
      const [n, h, w, ci] = x.shape as [number, number, number, number];
      const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
      const top = info.padInfo.top;
      const left = info.padInfo.left;
      // Bottom/right padding that makes the result exactly kh x kw; negative means the forward
      // pass never read those rows/columns of x: cut them off instead.
      let bottom = kh + (oh - 1) * sh - h - top;
      let right = kw + (ow - 1) * sw - w - left;
      let input = x;
      if (bottom < 0 || right < 0) {
        input = run(ctx, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [n, h + Math.min(0, bottom), w + Math.min(0, right), ci] });
        bottom = Math.max(0, bottom);
        right = Math.max(0, right);
      }
      const xT = run(ctx, 'Transpose', { x: input }, { perm: [3, 1, 2, 0] }); // [ci, H, W, n]
      const dyT = run(ctx, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]
      const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
      const g = run(ctx, 'Conv2D', { x: xT, filter: dyT }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined }); // [ci, kh, kw, co]
      return run(ctx, 'Transpose', { x: g }, { perm: [1, 2, 0, 3] }); // [kh, kw, ci, co]
    });
  };
}

/**
 * Conv2DBackpropInput for stride 1 and dilation 1 (every conv but the paper's conv1, whose input
 * gradient is never needed); other cases go to `fallback`, the backend's own kernel.
 */
export function conv2dBackpropInputAsConv(backendName: string, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Record<string, unknown>;
    const info = convInfo(a.inputShape as number[], filter.shape, a);
    const [kh, kw] = filter.shape as [number, number, number, number];
    const pt = kh - 1 - info.padInfo.top;
    const pb = kh - 1 - info.padInfo.bottom;
    const pl = kw - 1 - info.padInfo.left;
    const pr = kw - 1 - info.padInfo.right;
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1 || Math.min(pt, pb, pl, pr) < 0 || info.dataFormat !== 'channelsLast') {
      return fallback(args);
    }
    return scoped(args.backend as Backend, backendName, (ctx) => {
      const rotated = run(ctx, 'Reverse', { x: filter }, { dims: [0, 1] }); // [kh, kw, ci, co] rotated 180 degrees
      const swapped = run(ctx, 'Transpose', { x: rotated }, { perm: [0, 1, 3, 2] }); // [kh, kw, co, ci]
      const pad = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
      return run(ctx, 'Conv2D', { x: dy, filter: swapped }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined });
    });
  };
}

const registered = new Set<string>();

/**
 * Register the gradient kernels on `backendName` ('wasm' or 'cpu'): the filter gradient always
 * (wasm has none, cpu's is slow), the input gradient where the backend's forward conv is
 * faster than its own input-gradient loop.
 */
export function registerConvGradKernels(backendName: 'wasm' | 'cpu'): void {
  if (registered.has(backendName)) return;
  registered.add(backendName);
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) tf.unregisterKernel('Conv2DBackpropFilter', backendName);
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: conv2dBackpropFilterAsConv(backendName) });
  const own = tf.getKernel('Conv2DBackpropInput', backendName);
  if (own && backendName === 'wasm') {
    tf.unregisterKernel('Conv2DBackpropInput', backendName);
    tf.registerKernel({ ...own, kernelFunc: conv2dBackpropInputAsConv(backendName, own.kernelFunc) });
  }
}
