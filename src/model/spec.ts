/**
 * Shapes and parameter layout derived from a NetworkSpec. No I/O, no tensor library: shared by
 * the trainer (tfjs), the exporter (ONNX) and the server.
 *
 * Weight layout (the checkpoint's, the trainer's): conv kernels [kh, kw, in/groups, out] (tfjs
 * HWIO; with 2 groups the first out/2 kernels see the first in/2 input maps), dense kernels
 * [in, out], fc6's input flattened from NHWC maps in (h, w, c) order.
 */
import type { ConvSpec, NetworkSpec } from '../config.js';
import { ConfigError } from '../errors.js';

export interface TensorShapeInfo {
  name: string;
  shape: number[];
}

export interface LayerShapes {
  /** Output side after each conv layer (before its pool), e.g. 55, 27, 13, 13, 13 for the paper. */
  convOut: number[];
  /** Side of the maps after each conv block (after its pool when it has one): 27, 13, 13, 13, 6. */
  blockOut: number[];
  /** Channels entering each conv layer. */
  convIn: number[];
  /** Input features of fc6 (6*6*256 = 9216 for the paper). */
  fc6In: number;
  /** Side and channels of the last maps (6 and 256 for the paper). */
  finalSide: number;
  finalChannels: number;
}

export function convOutputSize(input: number, c: ConvSpec): number {
  const span = input + 2 * c.pad - c.kernel;
  if (span < 0) throw new ConfigError(`${c.name}: input ${input} is smaller than its ${c.kernel}x${c.kernel} kernel`);
  return Math.floor(span / c.stride) + 1;
}

export function poolOutputSize(input: number, size: number, stride: number): number {
  if (input < size) throw new ConfigError(`pool of size ${size} on maps of side ${input}`);
  return Math.floor((input - size) / stride) + 1;
}

export function layerShapes(spec: NetworkSpec): LayerShapes {
  if (spec.conv.length !== 5) throw new ConfigError(`AlexNet has 5 conv layers, the spec has ${spec.conv.length}`);
  if (spec.baseSize < spec.inputSize) {
    throw new ConfigError(`base size ${spec.baseSize} is smaller than the crop size ${spec.inputSize}`);
  }
  let side = spec.inputSize;
  let channels = 3;
  const convOut: number[] = [];
  const blockOut: number[] = [];
  const convIn: number[] = [];
  for (const c of spec.conv) {
    if (channels % c.groups !== 0 || c.filters % c.groups !== 0) {
      throw new ConfigError(`${c.name}: ${channels} input and ${c.filters} output maps do not split into ${c.groups} groups`);
    }
    convIn.push(channels);
    side = convOutputSize(side, c);
    convOut.push(side);
    if (c.pool) side = poolOutputSize(side, spec.pool.size, spec.pool.stride);
    blockOut.push(side);
    channels = c.filters;
  }
  return { convOut, blockOut, convIn, fc6In: side * side * channels, finalSide: side, finalChannels: channels };
}

/** Every trainable tensor of the network, in a fixed order, with its shape (checkpoint layout). */
export function parameterShapes(spec: NetworkSpec, classes: number): TensorShapeInfo[] {
  if (!Number.isInteger(classes) || classes < 2) throw new ConfigError(`classes must be an integer >= 2, got ${classes}`);
  const s = layerShapes(spec);
  const out: TensorShapeInfo[] = [];
  spec.conv.forEach((c, i) => {
    out.push({ name: `${c.name}.weight`, shape: [c.kernel, c.kernel, s.convIn[i]! / c.groups, c.filters] });
    out.push({ name: `${c.name}.bias`, shape: [c.filters] });
  });
  const fcIn = [s.fc6In, spec.fcUnits[0], spec.fcUnits[1]];
  const fcOut = [spec.fcUnits[0], spec.fcUnits[1], classes];
  (['fc6', 'fc7', 'fc8'] as const).forEach((name, i) => {
    out.push({ name: `${name}.weight`, shape: [fcIn[i]!, fcOut[i]!] });
    out.push({ name: `${name}.bias`, shape: [fcOut[i]!] });
  });
  return out;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function parameterCount(spec: NetworkSpec, classes: number): number {
  return parameterShapes(spec, classes).reduce((n, t) => n + sizeOf(t.shape), 0);
}

/** Multiply-adds of one forward pass of one crop (conv and fc layers). */
export function multiplyAdds(spec: NetworkSpec, classes: number): number {
  const s = layerShapes(spec);
  let total = 0;
  spec.conv.forEach((c, i) => {
    total += s.convOut[i]! ** 2 * c.filters * c.kernel * c.kernel * (s.convIn[i]! / c.groups);
  });
  total += s.fc6In * spec.fcUnits[0] + spec.fcUnits[0] * spec.fcUnits[1] + spec.fcUnits[1] * classes;
  return total;
}
