/**
 * The benches' exact nearest-neighbour oracle: every query against every base vector.
 *
 * The bulk of the work, the dot products, is one Gemm (queries x base^T) per block run by
 * onnxruntime (a two-input graph built here); ranking by |x|^2 - 2 q.x keeps the `margin` best
 * candidates of each query, which are then re-ranked by their Euclidean distance computed in
 * float64, so the k returned are exact unless float32 rounding moved a true neighbour past
 * `margin` others. Returns Euclidean distances (not squared).
 */
import ort from 'onnxruntime-node';
import os from 'node:os';
import { encodeModel, FLOAT, GraphBuilder } from '../src/model/onnx-builder.js';

export interface Neighbours {
  k: number;
  /** queries x k base indices, nearest first. */
  ids: Int32Array;
  /** queries x k Euclidean distances. */
  distances: Float64Array;
}

const BASE_BLOCK = 32_768;
const QUERY_BLOCK = 256;

function gemmModel(): Uint8Array {
  const g = new GraphBuilder();
  g.input('q', FLOAT, ['nq', 'd']);
  g.input('x', FLOAT, ['nx', 'd']);
  g.node('Gemm', ['q', 'x'], { transB: { i: 1 } }, 'scores', ['s']);
  g.output('s', FLOAT, ['nq', 'nx']);
  return encodeModel(g.model('brute_force', {}, 'q x^T'));
}

/** Squared Euclidean distance in float64. */
export function squaredDistance(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  const ao = ai * dim;
  const bo = bi * dim;
  for (let j = 0; j < dim; j++) {
    const d = a[ao + j]! - b[bo + j]!;
    s += d * d;
  }
  return s;
}

export class BruteForce {
  private readonly norms: Float32Array;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly base: Float32Array,
    readonly dim: number,
  ) {
    const n = base.length / dim;
    this.norms = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += base[i * dim + j]! ** 2;
      this.norms[i] = s;
    }
  }

  static async create(base: Float32Array, dim: number): Promise<BruteForce> {
    const session = await ort.InferenceSession.create(gemmModel(), { intraOpNumThreads: os.availableParallelism(), graphOptimizationLevel: 'all' });
    return new BruteForce(session, base, dim);
  }

  get size(): number {
    return this.base.length / this.dim;
  }

  /** The exact k nearest base vectors of each query (queries: count x dim, row-major). */
  async search(queries: Float32Array, k: number, margin = Math.max(32, 2 * k)): Promise<Neighbours> {
    const { dim } = this;
    const nq = queries.length / dim;
    const n = this.size;
    const m = Math.min(margin, n);
    const candScore = new Float32Array(nq * m).fill(Infinity);
    const candId = new Int32Array(nq * m).fill(-1);
    const worst = new Int32Array(nq); // position of each query's worst candidate
    for (let q0 = 0; q0 < nq; q0 += QUERY_BLOCK) {
      const qn = Math.min(QUERY_BLOCK, nq - q0);
      const qt = new ort.Tensor('float32', queries.slice(q0 * dim, (q0 + qn) * dim), [qn, dim]);
      for (let x0 = 0; x0 < n; x0 += BASE_BLOCK) {
        const xn = Math.min(BASE_BLOCK, n - x0);
        const xt = new ort.Tensor('float32', this.base.subarray(x0 * dim, (x0 + xn) * dim), [xn, dim]);
        const s = (await this.session.run({ q: qt, x: xt })).s!.data as Float32Array; // [qn, xn]
        for (let a = 0; a < qn; a++) {
          const q = q0 + a;
          const row = a * xn;
          const c = q * m;
          let w = worst[q]!;
          let bound = candScore[c + w]!;
          for (let b = 0; b < xn; b++) {
            const score = this.norms[x0 + b]! - 2 * s[row + b]!;
            if (score >= bound) continue;
            candScore[c + w] = score;
            candId[c + w] = x0 + b;
            w = 0;
            for (let t = 1; t < m; t++) if (candScore[c + t]! > candScore[c + w]!) w = t;
            bound = candScore[c + w]!;
          }
          worst[q] = w;
        }
      }
    }
    const ids = new Int32Array(nq * k);
    const distances = new Float64Array(nq * k);
    for (let q = 0; q < nq; q++) {
      const cands = Array.from(candId.subarray(q * m, (q + 1) * m))
        .filter((i) => i >= 0)
        .map((i) => ({ i, d: squaredDistance(queries, q, this.base, i, dim) }))
        .sort((a, b) => a.d - b.d || a.i - b.i);
      for (let t = 0; t < k; t++) {
        ids[q * k + t] = cands[t]?.i ?? -1;
        distances[q * k + t] = Math.sqrt(cands[t]?.d ?? Infinity);
      }
    }
    return { k, ids, distances };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
