/**
 * The project's WGSL kernels for tfjs-backend-webgpu, registered over tfjs's own, and the flags
 * that pick between tfjs's built-in programs. `registerWebgpuKernels({ project: false })` puts
 * tfjs's own kernels back, for side-by-side benchmarks (bench/webgpu-kernels.ts,
 * bench/device/profile-step.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropInputAsConv } from './conv-grad-kernels.js';
import { webgpuConv2DBackpropFilter } from './webgpu-filter-grad.js';
import { webgpuLrnGrad } from './webgpu-lrn-grad.js';

const KERNELS: readonly tf.KernelConfig[] = [webgpuLrnGrad, webgpuConv2DBackpropFilter];
let tfjsOwn: tf.KernelConfig[] | null = null;
let tfjsInputGradient: tf.KernelConfig | undefined;

export interface WebgpuKernelChoice {
  /** The project's LRNGrad and Conv2DBackpropFilter (true) or tfjs's own (false). */
  project: boolean;
  /**
   * Conv2DBackpropInput: tfjs's default loop per input element ('naive'), its tiled
   * matrix-product program ('matmul'), or, at stride 1, tfjs's forward convolution (an
   * implicit-GEMM program) of dy with the filter rotated 180 degrees ('conv', conv-grad-kernels.ts).
   * Which is fastest depends on the adapter: on lavapipe the loop is (bench/RESULTS.md, "WebGPU
   * kernels"); the GPU run (bench/device/run.sh) measures all three.
   */
  inputGradient: 'naive' | 'matmul' | 'conv';
}

export const DEFAULT_WEBGPU_KERNELS: WebgpuKernelChoice = { project: true, inputGradient: 'naive' };

export function registerWebgpuKernels(choice: Partial<WebgpuKernelChoice> = {}): void {
  const { project, inputGradient } = { ...DEFAULT_WEBGPU_KERNELS, ...choice };
  tfjsOwn ??= KERNELS.map((k) => tf.getKernel(k.kernelName, 'webgpu')).filter((k): k is tf.KernelConfig => k !== undefined);
  for (const kernel of KERNELS) {
    if (tf.getKernel(kernel.kernelName, 'webgpu')) tf.unregisterKernel(kernel.kernelName, 'webgpu');
    const own = tfjsOwn.find((k) => k.kernelName === kernel.kernelName);
    tf.registerKernel(project || !own ? kernel : own);
  }
  tfjsInputGradient ??= tf.getKernel('Conv2DBackpropInput', 'webgpu');
  if (tfjsInputGradient) {
    tf.unregisterKernel('Conv2DBackpropInput', 'webgpu');
    tf.registerKernel(inputGradient === 'conv' ? { ...tfjsInputGradient, kernelFunc: conv2dBackpropInputAsConv('webgpu', tfjsInputGradient.kernelFunc) } : tfjsInputGradient);
  }
  // 'conv' falls back to tfjs's kernel where the stride is not 1: its loop.
  tf.env().set('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', inputGradient !== 'matmul');
}
