/**
 * The project's WGSL kernels for tfjs-backend-webgpu, registered over tfjs's own, and the flags
 * that pick between tfjs's built-in programs. `registerWebgpuKernels({ project: false })` puts
 * tfjs's own kernels back, for side-by-side benchmarks (bench/train.ts,
 * bench/device/profile-step.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { webgpuConv2DBackpropFilter } from './webgpu-filter-grad.js';
import { webgpuLrnGrad } from './webgpu-lrn-grad.js';

const KERNELS: readonly tf.KernelConfig[] = [webgpuLrnGrad, webgpuConv2DBackpropFilter];
let tfjsOwn: tf.KernelConfig[] | null = null;

export interface WebgpuKernelChoice {
  /** The project's LRNGrad and Conv2DBackpropFilter (true) or tfjs's own (false). */
  project: boolean;
  /**
   * Conv2DBackpropInput: tfjs's default loop per input element ('naive') or its tiled
   * matrix-product program ('matmul'). Which is faster depends on the adapter: on lavapipe the
   * loop is (bench/RESULTS.md, "WebGPU kernels"); the GPU run (bench/device/run.sh) measures both.
   */
  inputGradient: 'naive' | 'matmul';
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
  tf.env().set('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', inputGradient === 'naive');
}
