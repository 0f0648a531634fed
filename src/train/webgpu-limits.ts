/**
 * Whether a training step fits a WebGPU adapter's buffer limits, asked before training starts.
 *
 * Every tensor tfjs-backend-webgpu holds is one GPU buffer bound whole to its kernels, so no
 * tensor may exceed the device's maxStorageBufferBindingSize (or maxBufferSize). Past it Dawn
 * rejects each command that binds the buffer, prints a validation error, and the step computes
 * garbage without failing. Software adapters and some integrated GPUs allow 128 MiB; the paper's
 * fc6 weights are 151 MB and its conv1 output at batch 128 is 149 MB.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NetworkSpec } from '../config.js';
import { ConfigError } from '../errors.js';
import { layerShapes, parameterShapes, sizeOf } from '../model/spec.js';

export interface StepTensor {
  what: string;
  bytes: number;
  /** Grows with the batch size (an activation), or not (a parameter). */
  perBatch: boolean;
}

/** The float32 tensors of a training step that set its largest buffers, largest first. */
export function largestStepTensors(spec: NetworkSpec, classes: number, batch: number): StepTensor[] {
  const s = layerShapes(spec);
  const side = spec.inputSize;
  const out: StepTensor[] = [{ what: `the input batch [${batch}, ${side}, ${side}, 3]`, bytes: batch * side * side * 3 * 4, perBatch: true }];
  spec.conv.forEach((c, i) => {
    const o = s.convOut[i]!;
    out.push({ what: `${c.name}'s output [${batch}, ${o}, ${o}, ${c.filters}]`, bytes: batch * o * o * c.filters * 4, perBatch: true });
  });
  for (const p of parameterShapes(spec, classes)) out.push({ what: `${p.name} [${p.shape.join(', ')}]`, bytes: sizeOf(p.shape) * 4, perBatch: false });
  return out.sort((a, b) => b.bytes - a.bytes);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Why a step does not fit a buffer limit of `limit` bytes, or undefined when it does. */
export function bufferLimitProblem(spec: NetworkSpec, classes: number, batch: number, limit: number, adapter: string): string | undefined {
  const over = largestStepTensors(spec, classes, batch).filter((t) => t.bytes > limit);
  if (over.length === 0) return undefined;
  const fixes = [
    ...(over.some((t) => t.perBatch) ? ['a smaller --batch-size (activations grow with it)'] : []),
    ...(over.some((t) => !t.perBatch) ? ['a smaller preset (the weights do not shrink with the batch)'] : []),
    '--backend wasm',
  ];
  return (
    `${adapter} binds at most ${mib(limit)} per buffer, and a training step at batch ${batch} holds ` +
    `${over.map((t) => `${t.what} (${mib(t.bytes)})`).join(', ')}: use ${fixes.join(', or ')}`
  );
}

/** Refuse (ConfigError) a step that does not fit the active webgpu backend's device. */
export function checkWebgpuFits(spec: NetworkSpec, classes: number, batch: number, adapter: string): void {
  const device = (tf.backend() as unknown as { device?: { limits: { maxStorageBufferBindingSize: number; maxBufferSize: number } } }).device;
  if (!device) return;
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const problem = bufferLimitProblem(spec, classes, batch, limit, adapter);
  if (problem) throw new ConfigError(problem);
}
