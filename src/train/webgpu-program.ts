/**
 * What this project's WGSL kernels share: the shape of a program that tfjs-backend-webgpu's
 * `runWebGPUProgram` compiles and runs, and a way to run one from a tfjs kernel function.
 *
 * tfjs writes each shader's header itself: the output as `result: array<f32>`, every input named in
 * `variableNames` as a read-only `array<f32>`, and a `uniforms` struct holding every shape, then
 * `size` (when `size` is set) and the fields a program lists in `uniforms`, whose values are passed
 * in order at run time. The program supplies `fn main(index: i32)` (a flat dispatch, `size` set) or
 * `fn main()` reading the `localId` / `workgroupId` globals. Compiled pipelines are cached by
 * `shaderKey` plus the ranks and types of the tensors, so a key must name everything the WGSL text
 * depends on.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';

export interface WgslProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Extra uniform fields, WGSL struct syntax, each ending in a comma. */
  uniforms?: string;
  /** Adds `size: i32` (the output's element count) to the uniforms. */
  size?: boolean;
  getUserCode(): string;
}

export interface Uniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** The part of tfjs-backend-webgpu's WebGPUBackend these kernels call. */
export interface WebgpuBackendLike {
  runWebGPUProgram(program: WgslProgram, inputs: TensorInfo[], dtype: 'float32', uniforms?: Uniform[]): TensorInfo;
  disposeData(dataId: unknown): boolean;
}

export const int = (...data: number[]): Uniform => ({ type: 'int32', data });
export const float = (...data: number[]): Uniform => ({ type: 'float32', data });

/** A flat one-thread-per-output-element program's layout: 64 threads a workgroup. */
export function flatLayout(outputShape: number[]): Pick<WgslProgram, 'dispatchLayout' | 'dispatch' | 'workgroupSize' | 'size'> {
  const elements = outputShape.reduce((a, b) => a * b, 1);
  return {
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(elements / 64), 1, 1],
    workgroupSize: [64, 1, 1],
    size: true,
  };
}
