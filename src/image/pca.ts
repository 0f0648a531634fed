/**
 * PCA lighting (§4.1): eigenvectors p_i and eigenvalues l_i of the 3x3 covariance of RGB pixel
 * values over the training set; per image, draw a_i ~ N(0, 0.1) once and add
 * [p1 p2 p3][a1 l1, a2 l2, a3 l3]^T to every pixel, in the same pixel scale (0..255 here).
 */
import type { Rng } from '../util/rng.js';

export interface RgbPca {
  /**
   * Eigenvalues, largest first, in the scale the lighting shift is added in (0..255 pixels):
   * see rgbPca. */
  eigenvalues: [number, number, number];
  /** Eigenvectors as columns: eigenvectors[3*row + col] is component `row` of vector `col`. */
  eigenvectors: number[];
}

/** Accumulates the RGB covariance and the mean image over a stream of base x base x 3 images. */
/** 255 x this still fits in a uint32. */
const MAX_IMAGES = Math.floor(0xffffffff / 255);

export class ImageStatistics {
  /** Per-pixel sums: integers, so uint32 holds them exactly up to MAX_IMAGES images at half float64's memory traffic. */
  private readonly sum: Uint32Array;
  private readonly rgb = new Float64Array(3);
  private readonly outer = new Float64Array(9);
  private images = 0;

  constructor(readonly base: number) {
    this.sum = new Uint32Array(base * base * 3);
  }

  add(image: Uint8Array): void {
    if (this.images >= MAX_IMAGES) throw new RangeError(`image statistics hold at most ${MAX_IMAGES} images`);
    const { sum, rgb, outer } = this;
    // Per-image sums in locals (integers, exact: at most 65,025 per pixel), then added once: the
    // same totals as adding pixel by pixel while they stay below 2^53, at a fraction of the cost.
    let r0 = 0, g0 = 0, b0 = 0, rr = 0, rg = 0, rb = 0, gg = 0, gb = 0, bb = 0;
    for (let i = 0; i < image.length; i += 3) {
      const r = image[i]!;
      const g = image[i + 1]!;
      const b = image[i + 2]!;
      sum[i]! += r;
      sum[i + 1]! += g;
      sum[i + 2]! += b;
      r0 += r;
      g0 += g;
      b0 += b;
      rr += r * r;
      rg += r * g;
      rb += r * b;
      gg += g * g;
      gb += g * b;
      bb += b * b;
    }
    rgb[0] = rgb[0]! + r0;
    rgb[1] = rgb[1]! + g0;
    rgb[2] = rgb[2]! + b0;
    outer[0] = outer[0]! + rr;
    outer[1] = outer[1]! + rg;
    outer[2] = outer[2]! + rb;
    outer[4] = outer[4]! + gg;
    outer[5] = outer[5]! + gb;
    outer[8] = outer[8]! + bb;
    this.images++;
  }

  get count(): number {
    return this.images;
  }

  /** The running sums as bytes (float64: sum image, RGB sums, RGB outer products, then the image count), for a resumable pass. */
  save(): Uint8Array {
    const out = new Float64Array(this.sum.length + 13);
    out.set(this.sum);
    out.set(this.rgb, this.sum.length);
    out.set(this.outer, this.sum.length + 3);
    out[this.sum.length + 12] = this.images;
    return new Uint8Array(out.buffer);
  }

  /** Continue from sums saved by `save()` on statistics of the same base size. */
  restore(bytes: Uint8Array): void {
    const expected = (this.sum.length + 13) * 8;
    if (bytes.byteLength !== expected) throw new RangeError(`saved statistics hold ${bytes.byteLength} bytes, expected ${expected}`);
    const v = new Float64Array(bytes.slice().buffer);
    this.sum.set(v.subarray(0, this.sum.length));
    this.rgb.set(v.subarray(this.sum.length, this.sum.length + 3));
    this.outer.set(v.subarray(this.sum.length + 3, this.sum.length + 12));
    this.images = v[this.sum.length + 12]!;
  }

  /** The mean image, base*base*3 HWC. */
  meanImage(): Float32Array {
    return Float32Array.from(this.sum, (v) => v / Math.max(1, this.images));
  }

  /** The 3x3 covariance of RGB values over every pixel seen (row-major). */
  covariance(): number[] {
    const n = Math.max(1, this.images * this.base * this.base);
    const m = [this.rgb[0]! / n, this.rgb[1]! / n, this.rgb[2]! / n];
    const o = this.outer;
    const c = (i: number, j: number) => o[Math.min(i, j) * 3 + Math.max(i, j)]! / n - m[i]! * m[j]!;
    return [c(0, 0), c(0, 1), c(0, 2), c(1, 0), c(1, 1), c(1, 2), c(2, 0), c(2, 1), c(2, 2)];
  }
}

/** Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations. */
export function symmetricEigen3(matrix: readonly number[]): RgbPca {
  const a = [...matrix];
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1]! ** 2 + a[2]! ** 2 + a[5]! ** 2;
    if (off < 1e-30) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = a[p * 3 + q]!;
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * 3 + q]! - a[p * 3 + p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      // a <- J^T a J, v <- v J for the rotation J in the (p, q) plane.
      for (let k = 0; k < 3; k++) {
        const akp = a[k * 3 + p]!;
        const akq = a[k * 3 + q]!;
        a[k * 3 + p] = c * akp - s * akq;
        a[k * 3 + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p * 3 + k]!;
        const aqk = a[q * 3 + k]!;
        a[p * 3 + k] = c * apk - s * aqk;
        a[q * 3 + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k * 3 + p]!;
        const vkq = v[k * 3 + q]!;
        v[k * 3 + p] = c * vkp - s * vkq;
        v[k * 3 + q] = s * vkp + c * vkq;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => a[j * 3 + j]! - a[i * 3 + i]!);
  const eigenvalues = order.map((i) => a[i * 3 + i]!) as [number, number, number];
  const eigenvectors = [0, 1, 2].flatMap((row) => order.map((col) => v[row * 3 + col]!));
  return { eigenvalues, eigenvectors };
}

/**
 * The lighting PCA of a covariance of 0..255 pixel values. The eigenvalues are those of the
 * covariance of pixels scaled to 0..1, times 255: the convention behind the published ImageNet
 * figures (Caffe's and torchvision's ImageNet lighting: [0.2175, 0.0188, 0.0045] in 0..1 are [55.46, 4.794, 1.148] in 0..255),
 * which gives shifts of a few pixel levels (0.1 * 55.46 = 5.5 for ImageNet's first component).
 * The raw 0..255 eigenvalues (about 255 times larger) would shift whole images by hundreds of
 * levels and drown the picture.
 */
export function rgbPca(covariance255: readonly number[]): RgbPca {
  const { eigenvalues, eigenvectors } = symmetricEigen3(covariance255);
  return { eigenvalues: eigenvalues.map((l) => Math.max(0, l) / 255) as [number, number, number], eigenvectors };
}

/** The per-image RGB shift [p1 p2 p3][a1 l1, a2 l2, a3 l3]^T with a_i ~ N(0, std). */
export function lightingShift(pca: RgbPca, rng: Rng, std = 0.1): [number, number, number] {
  const w = pca.eigenvalues.map((l) => rng.normal() * std * l);
  const p = pca.eigenvectors;
  return [0, 1, 2].map((row) => p[row * 3]! * w[0]! + p[row * 3 + 1]! * w[1]! + p[row * 3 + 2]! * w[2]!) as [number, number, number];
}
