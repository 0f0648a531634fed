/**
 * Crops of a square uint8 RGB image (HWC), with mean subtraction (§2, §4.1, §5). Pure functions:
 * the trainer's augmentation and the tests use them; the ten-crop ONNX graph does the same
 * inside the model.
 */
import type { Rng } from '../util/rng.js';

/** The mean subtracted from every pixel: per channel [3], or an image [base*base*3] (HWC). */
export type Mean = { kind: 'channel'; values: ArrayLike<number> } | { kind: 'image'; data: Float32Array };

export interface CropSpec {
  x: number;
  y: number;
  flip: boolean;
}

/**
 * The ten crops of §5, in this order: top-left, top-right, bottom-left, bottom-right, center,
 * then the horizontal mirrors of those five in the same order.
 */
export function tenCropSpecs(base: number, crop: number): CropSpec[] {
  const far = base - crop;
  const mid = Math.floor(far / 2);
  const five = [
    { x: 0, y: 0 },
    { x: far, y: 0 },
    { x: 0, y: far },
    { x: far, y: far },
    { x: mid, y: mid },
  ];
  return [...five.map((c) => ({ ...c, flip: false })), ...five.map((c) => ({ ...c, flip: true }))];
}

export function centerCropSpec(base: number, crop: number): CropSpec {
  const mid = Math.floor((base - crop) / 2);
  return { x: mid, y: mid, flip: false };
}

/** A random crop position and a coin-flip mirror (§4.1). */
export function randomCropSpec(base: number, crop: number, rng: Rng): CropSpec {
  return { x: rng.int(base - crop + 1), y: rng.int(base - crop + 1), flip: rng.uniform() < 0.5 };
}

/**
 * Cut one crop of `image` (base x base x 3 uint8) into `out` at `offset` (crop x crop x 3 float,
 * HWC), subtracting the mean at the pixel's place in the base image, then adding `shift` [3]
 * (PCA lighting) when given. A mirrored crop reads its columns right to left; the mean image is
 * read at the same source pixel, so mirroring commutes with mean subtraction.
 */
export function cutCrop(
  image: Uint8Array,
  base: number,
  crop: number,
  spec: CropSpec,
  mean: Mean,
  out: Float32Array,
  offset = 0,
  shift?: ArrayLike<number>,
): void {
  const s0 = shift ? shift[0]! : 0;
  const s1 = shift ? shift[1]! : 0;
  const s2 = shift ? shift[2]! : 0;
  const m = mean.kind === 'channel' ? mean.values : null;
  const mi = mean.kind === 'image' ? mean.data : null;
  for (let r = 0; r < crop; r++) {
    const row = (spec.y + r) * base;
    for (let c = 0; c < crop; c++) {
      const srcCol = spec.flip ? spec.x + crop - 1 - c : spec.x + c;
      const src = (row + srcCol) * 3;
      const dst = offset + (r * crop + c) * 3;
      if (m) {
        out[dst] = image[src]! - m[0]! + s0;
        out[dst + 1] = image[src + 1]! - m[1]! + s1;
        out[dst + 2] = image[src + 2]! - m[2]! + s2;
      } else {
        out[dst] = image[src]! - mi![src]! + s0;
        out[dst + 1] = image[src + 1]! - mi![src + 1]! + s1;
        out[dst + 2] = image[src + 2]! - mi![src + 2]! + s2;
      }
    }
  }
}

/**
 * The single-crop ONNX model's input: for each of n images (each base x base x 3 uint8, back to
 * back in `images`), the crops `specs` in that order, mean subtracted, as float NCHW
 * [n * specs.length, 3, crop, crop] (image-major).
 */
export function cropsNchw(images: Uint8Array, n: number, base: number, crop: number, mean: Mean, specs: CropSpec[]): Float32Array {
  const px = base * base * 3;
  const plane = crop * crop;
  const hwc = new Float32Array(plane * 3);
  const chw = new Float32Array(n * specs.length * 3 * plane);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (const spec of specs) {
      cutCrop(images.subarray(i * px, (i + 1) * px), base, crop, spec, mean, hwc);
      for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[(k * 3 + c) * plane + p] = hwc[p * 3 + c]!;
      k++;
    }
  }
  return chw;
}

/** The single-crop ONNX model's input for n images: their center crops ([n, 3, crop, crop]). */
export function centerCropsNchw(images: Uint8Array, n: number, base: number, crop: number, mean: Mean): Float32Array {
  return cropsNchw(images, n, base, crop, mean, [centerCropSpec(base, crop)]);
}
