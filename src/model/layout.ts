/**
 * Layout conversions between the checkpoint (tfjs, NHWC) and ONNX (NCHW): the ONE place they
 * are written.
 */
import { ConfigError } from '../errors.js';

/** tfjs conv kernel [kh, kw, in, out] -> ONNX Conv weight [out, in, kh, kw]. With groups the
 * in axis already holds in/groups maps and the out axis keeps group 0's kernels first, which is
 * exactly ONNX's grouped layout. */
export function hwioToOihw(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  if (shape.length !== 4) throw new ConfigError(`conv kernel must be 4-D, got [${shape.join(', ')}]`);
  const [kh, kw, ci, co] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        const src = ((y * kw + x) * ci + i) * co;
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = data[src + o]!;
      }
    }
  }
  return { data: out, shape: [co, ci, kh, kw] };
}

/**
 * fc6's kernel [side*side*channels, out] has its rows in tfjs's NHWC flatten order (h, w, c).
 * An NCHW graph flattens in (c, h, w) order: reorder the rows so that row c*side*side + h*side + w
 * holds the old row (h*side + w)*channels + c. The result is still [in, out].
 */
export function nhwcRowsToNchwRows(
  data: Float32Array,
  shape: readonly number[],
  side: number,
  channels: number,
): Float32Array {
  const [rows, cols] = shape as [number, number];
  if (shape.length !== 2 || rows !== side * side * channels) {
    throw new ConfigError(`fc6 kernel [${shape.join(', ')}] does not match ${side}x${side}x${channels} maps`);
  }
  const out = new Float32Array(data.length);
  for (let h = 0; h < side; h++) {
    for (let w = 0; w < side; w++) {
      for (let c = 0; c < channels; c++) {
        const src = ((h * side + w) * channels + c) * cols;
        const dst = ((c * side + h) * side + w) * cols;
        out.set(data.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}
