/**
 * The paper's test-time procedure (§5) inside the graph: raw uint8 RGB images [N, B, B, 3] in,
 * mean subtraction, the ten crops, one pass of the network over all of them, the averages out.
 *
 * Crop order along the batch axis (crop-major, N images per block): top-left, top-right,
 * bottom-left, bottom-right, center (offset floor((B-S)/2)), then the horizontal mirrors of
 * those five in the same order. A mirror crop at x of the image is the crop at B-S-x of the
 * mirrored image, so the image is flipped once (Slice with step -1 on W).
 */
import type { NetworkSpec } from '../config.js';
import { addNetwork, type NetworkOutputs } from './alexnet-graph.js';
import { FLOAT, type GraphBuilder } from '../model/onnx-builder.js';

/** int64 bound that makes a reversed Slice run through index 0. */
const BEFORE_START = -(2n ** 62n);

export function addTenCrop(g: GraphBuilder, spec: NetworkSpec, classes: number, images: string, mean: string): NetworkOutputs {
  const B = spec.baseSize;
  const S = spec.inputSize;
  const far = B - S;
  const mid = Math.floor(far / 2);
  let x = g.node('Cast', [images], { to: { i: FLOAT } }, 'to_float'); // [N, B, B, 3]
  x = g.node('Sub', [x, mean], {}, 'subtract_mean'); // mean [3] or [B, B, 3] broadcasts
  x = g.node('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } }, 'to_nchw'); // [N, 3, B, B]
  const flipped = g.node('Slice', [x, g.int64s('flip_starts', [-1]), g.int64s('flip_ends', [BEFORE_START]), g.int64s('flip_axes', [3]), g.int64s('flip_steps', [-1])], {}, 'mirror');
  const corners: [number, number][] = [[0, 0], [far, 0], [0, far], [far, far], [mid, mid]]; // (x, y)
  const crops: string[] = [];
  const axes = g.int64s('crop_axes', [2, 3]);
  const cut = (src: string, cx: number, cy: number, name: string) =>
    g.node('Slice', [src, g.int64s(`${name}_starts`, [cy, cx]), g.int64s(`${name}_ends`, [cy + S, cx + S]), axes], {}, name); // [N, 3, S, S]
  corners.forEach(([cx, cy], i) => crops.push(cut(x, cx, cy, `crop${i}`)));
  corners.forEach(([cx, cy], i) => crops.push(cut(flipped, far - cx, cy, `crop${i + 5}_mirrored`)));
  const batch = g.node('Concat', crops, { axis: { i: 0 } }, 'ten_crops'); // [10N, 3, S, S]
  const net = addNetwork(g, spec, batch);
  const average = (value: string, width: number, name: string) => {
    const shaped = g.node('Reshape', [value, g.int64s(`${name}_shape`, [10, -1, width])], {}, `${name}_by_crop`); // [10, N, width]
    return g.node('ReduceMean', [shaped], { axes: { ints: [0] }, keepdims: { i: 0 } }, `${name}_mean`, [name]); // [N, width]
  };
  return {
    probabilities: average(net.probabilities, classes, 'probabilities'),
    fc7: average(net.fc7, spec.fcUnits[1], 'fc7'),
  };
}
