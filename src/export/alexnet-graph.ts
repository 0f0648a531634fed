/**
 * The network's ONNX nodes (NCHW), from a NetworkSpec and checkpoint tensors. Layout and LRN
 * conversions come from src/model (the one place each is written): conv kernels to OIHW (the
 * two tfjs halves of a 2-group layer are exactly ONNX's group=2 layout), LRN alpha times n,
 * fc6's rows reordered from tfjs's (h, w, c) flatten order to NCHW's (c, h, w).
 */
import type { NetworkSpec } from '../config.js';
import { hwioToOihw, nhwcRowsToNchwRows } from '../model/layout.js';
import { lrnToOnnx } from '../model/lrn.js';
import { layerShapes } from '../model/spec.js';
import type { NamedTensor } from '../model/tensor.js';
import type { GraphBuilder } from '../model/onnx-builder.js';

export interface NetworkOutputs {
  /** Softmax probabilities [M, classes]. */
  probabilities: string;
  /** fc7 activations after ReLU [M, fcUnits[1]]. */
  fc7: string;
}

export function addWeights(g: GraphBuilder, spec: NetworkSpec, tensors: Map<string, NamedTensor>): void {
  const t = (name: string): NamedTensor => {
    const v = tensors.get(name);
    if (!v) throw new Error(`tensor ${name} is missing`);
    return v;
  };
  for (const c of spec.conv) {
    const w = t(`${c.name}.weight`);
    const oihw = hwioToOihw(w.data, w.shape);
    g.floats(`${c.name}.weight`, oihw.shape, oihw.data);
    g.floats(`${c.name}.bias`, t(`${c.name}.bias`).shape, t(`${c.name}.bias`).data);
  }
  const s = layerShapes(spec);
  const fc6 = t('fc6.weight');
  g.floats('fc6.weight', fc6.shape, nhwcRowsToNchwRows(fc6.data, fc6.shape, s.finalSide, s.finalChannels));
  g.floats('fc6.bias', t('fc6.bias').shape, t('fc6.bias').data);
  for (const name of ['fc7', 'fc8']) {
    g.floats(`${name}.weight`, t(`${name}.weight`).shape, t(`${name}.weight`).data);
    g.floats(`${name}.bias`, t(`${name}.bias`).shape, t(`${name}.bias`).data);
  }
}

/** The network on `input` [M, 3, S, S] (mean subtracted), in evaluation mode (no dropout). */
export function addNetwork(g: GraphBuilder, spec: NetworkSpec, input: string, names: Partial<NetworkOutputs> = {}): NetworkOutputs {
  const lrn = lrnToOnnx(spec.lrn);
  let h = input; // [M, 3, S, S]
  for (const c of spec.conv) {
    h = g.node('Conv', [h, `${c.name}.weight`, `${c.name}.bias`], {
      kernel_shape: { ints: [c.kernel, c.kernel] },
      strides: { ints: [c.stride, c.stride] },
      pads: { ints: [c.pad, c.pad, c.pad, c.pad] },
      dilations: { ints: [1, 1] },
      group: { i: c.groups },
    }, c.name);
    h = g.node('Relu', [h], {}, `${c.name}_relu`);
    if (c.lrn) {
      h = g.node('LRN', [h], { size: { i: lrn.size }, alpha: { f: lrn.alpha }, beta: { f: lrn.beta }, bias: { f: lrn.bias } }, `${c.name}_lrn`);
    }
    if (c.pool) {
      h = g.node('MaxPool', [h], { kernel_shape: { ints: [spec.pool.size, spec.pool.size] }, strides: { ints: [spec.pool.stride, spec.pool.stride] } }, `${c.name}_pool`);
    }
  } // paper: [M, 256, 6, 6]
  h = g.node('Flatten', [h], { axis: { i: 1 } }, 'flatten'); // [M, 9216] in (c, h, w) order
  const gemm = (name: string, x: string) => g.node('Gemm', [x, `${name}.weight`, `${name}.bias`], { transB: { i: 0 } }, name, [g.fresh(`${name}_linear`)]);
  h = g.node('Relu', [gemm('fc6', h)], {}, 'fc6_relu');
  const fc7 = g.node('Relu', [gemm('fc7', h)], {}, 'fc7_relu', names.fc7 ? [names.fc7] : undefined); // [M, 4096]
  const logits = gemm('fc8', fc7); // [M, classes]
  const probabilities = g.node('Softmax', [logits], { axis: { i: 1 } }, 'softmax', names.probabilities ? [names.probabilities] : undefined);
  return { probabilities, fc7 };
}
