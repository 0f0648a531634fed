/**
 * LRNGrad for tfjs-backend-webgpu, in WGSL, with work proportional to the window.
 *
 * tfjs-backend-webgpu 4.22's own LRNGrad gives each element a loop over every channel d of its
 * pixel and, inside it, a scan of the channels up to d's window: O(C^2) work per element, about
 * 33,000 steps per element after the paper's conv2 (C = 256). On a profiled step it was the
 * largest kernel (bench/RESULTS.md, "WebGPU kernels").
 *
 * The gradient, with N_d = bias + alpha * sum_{|k-d|<=r} x_k^2 and y_d = x_d * N_d^-beta:
 *
 *   dx_c = dy_c * N_c^-beta - 2 * alpha * beta * x_c * sum_{|d-c|<=r} dy_d * y_d / N_d
 *
 * (the same sum tfjs's kernel computes, in the same semantics as TensorFlow's). Each thread
 * computes the 2r+1 window sums it needs from x directly: (2r+1)^2 reads, 25 for the paper's n = 5.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { flatLayout, float, int, type WebgpuBackendLike, type WgslProgram } from './webgpu-program.js';

function lrnGradProgram(shape: number[]): WgslProgram {
  return {
    variableNames: ['x', 'y', 'dy'],
    outputShape: shape,
    shaderKey: 'alexnet_lrn_grad',
    uniforms: 'radius : i32, bias : f32, alpha : f32, beta : f32,',
    ...flatLayout(shape),
    getUserCode: () => `
      fn windowNorm(base : i32, d : i32, channels : i32) -> f32 {
        let lo = max(0, d - uniforms.radius);
        let hi = min(channels - 1, d + uniforms.radius);
        var s = 0.0;
        for (var k = lo; k <= hi; k++) {
          let v = x[base + k];
          s = s + v * v;
        }
        return uniforms.bias + uniforms.alpha * s;
      }

      fn main(index : i32) {
        if (index >= uniforms.size) {
          return;
        }
        let channels = uniforms.outShape[3];
        let c = index % channels;
        let base = index - c;
        let lo = max(0, c - uniforms.radius);
        let hi = min(channels - 1, c + uniforms.radius);
        var cross = 0.0;
        for (var d = lo; d <= hi; d++) {
          cross = cross + dy[base + d] * y[base + d] / windowNorm(base, d, channels);
        }
        let own = pow(windowNorm(base, c, channels), -uniforms.beta);
        result[index] = dy[index] * own - 2.0 * uniforms.alpha * uniforms.beta * x[index] * cross;
      }
    `,
  };
}

export const webgpuLrnGrad: KernelConfig = {
  kernelName: 'LRNGrad',
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, y, dy } = inputs as { x: TensorInfo; y: TensorInfo; dy: TensorInfo };
    const { depthRadius, bias, alpha, beta } = attrs as unknown as { depthRadius: number; bias: number; alpha: number; beta: number };
    if (x.shape.length !== 4) throw new Error(`LRNGrad expects a rank-4 NHWC tensor, got shape [${x.shape.join(', ')}]`);
    return (backend as unknown as WebgpuBackendLike).runWebGPUProgram(lrnGradProgram(x.shape), [x, y, dy], 'float32', [
      int(depthRadius),
      float(bias),
      float(alpha),
      float(beta),
    ]);
  },
};
