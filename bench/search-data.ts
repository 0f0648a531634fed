/**
 * bench:search's vectors: the real fc7 vectors of Fashion-MNIST, and as many more as a size asks
 * for, drawn to match them: a real vector picked at random plus Gaussian noise whose spread in
 * each dimension is that dimension's spread over the real vectors times `alpha`, with alpha set
 * so the noise's length is the median distance from a real vector to its nearest other real
 * vector (a drawn vector sits about as far from its source as real neighbours sit from each
 * other); values are clamped at 0 when every real value is >= 0 (fc7 follows a ReLU). Queries
 * are fresh draws of the same kind, never in the index.
 */
import { Rng } from '../src/util/rng.js';
import { BruteForce } from './brute-force.js';

export interface Generator {
  real: Float32Array;
  dim: number;
  /** Per-dimension standard deviation over the real vectors, times alpha. */
  noise: Float32Array;
  alpha: number;
  medianNearest: number;
  clampAtZero: boolean;
}

export async function matchedGenerator(real: Float32Array, dim: number, sample = 1000, seed = 7): Promise<Generator> {
  const n = real.length / dim;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const v = real[i * dim + j]!;
      mean[j] += v;
      sq[j] += v * v;
      if (v < min) min = v;
    }
  }
  const sd = new Float64Array(dim);
  let total = 0;
  for (let j = 0; j < dim; j++) {
    mean[j]! /= n;
    sd[j] = Math.sqrt(Math.max(0, sq[j]! / n - mean[j]! ** 2));
    total += sd[j]! ** 2;
  }
  // The median nearest-other distance over a sample of the real vectors (the nearest is itself).
  const rng = new Rng(seed);
  const picks = Array.from({ length: Math.min(sample, n) }, () => rng.int(n));
  const q = new Float32Array(picks.length * dim);
  picks.forEach((p, i) => q.set(real.subarray(p * dim, (p + 1) * dim), i * dim));
  const bf = await BruteForce.create(real, dim);
  const nn = await bf.search(q, 2);
  await bf.close();
  const nearest = picks.map((p, i) => (nn.ids[2 * i] === p ? nn.distances[2 * i + 1]! : nn.distances[2 * i]!)).sort((a, b) => a - b);
  const medianNearest = nearest[Math.floor(nearest.length / 2)]!;
  const alpha = medianNearest / Math.sqrt(total);
  return { real, dim, noise: Float32Array.from(sd, (s) => s * alpha), alpha, medianNearest, clampAtZero: min >= 0 };
}

/** `count` drawn vectors (row-major) from the generator, seeded. */
export function draw(g: Generator, count: number, seed: number, into = new Float32Array(count * g.dim), offset = 0): Float32Array {
  const rng = new Rng(seed);
  const n = g.real.length / g.dim;
  const { dim } = g;
  for (let i = 0; i < count; i++) {
    const src = rng.int(n) * dim;
    const o = (offset + i) * dim;
    for (let j = 0; j < dim; j++) {
      const v = g.real[src + j]! + g.noise[j]! * rng.normal();
      into[o + j] = g.clampAtZero && v < 0 ? 0 : v;
    }
  }
  return into;
}

/** The index at one size: the real vectors first (all of them, or the first `size`), then drawn ones. */
export function baseOfSize(g: Generator, size: number, seed: number): Float32Array {
  const realCount = g.real.length / g.dim;
  if (size <= realCount) return g.real.subarray(0, size * g.dim);
  const base = new Float32Array(size * g.dim);
  base.set(g.real, 0);
  return draw(g, size - realCount, seed, base, realCount);
}

export function describeGenerator(g: Generator): string {
  return (
    `drawn vectors: a real fc7 vector picked at random + Gaussian noise of ${g.alpha.toFixed(3)} x each dimension's spread (noise length ~ ${g.medianNearest.toFixed(2)}, ` +
    `the median distance between a real vector and its nearest other)${g.clampAtZero ? ', clamped at 0 like the ReLU output' : ''}`
  );
}
