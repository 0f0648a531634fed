/**
 * bench:search's measure of one way to search: queries one at a time (a few untimed first), each
 * call timed; queries/s, p50/p99 latency, and recall@k against the bench's own brute force. A
 * hit counts when its exact distance (recomputed here from the base vectors, in float64) is at
 * most the oracle's k-th distance, so ties with the k-th neighbour are not counted as misses.
 */
import { squaredDistance, type Neighbours } from './brute-force.js';

export interface Measured {
  queries: number;
  qps: number;
  p50: number;
  p99: number;
  recall: number;
  /** Queries that missed at least one true neighbour. */
  imperfect?: number;
}

export interface Workload {
  base: Float32Array;
  queries: Float32Array;
  dim: number;
  k: number;
  oracle: Neighbours;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Recall@k of one query's returned base indices. */
export function recallOf(w: Workload, q: number, ids: readonly number[]): number {
  const { k, dim } = w;
  const kth = w.oracle.distances[q * k + k - 1]!;
  const bound = kth * kth * (1 + 1e-9) + 1e-12;
  let hits = 0;
  for (const id of new Set(ids.slice(0, k))) if (id >= 0 && squaredDistance(w.queries, q, w.base, id, dim) <= bound) hits++;
  return Math.min(hits, k) / k;
}

/** `count` queries (the first ones of the workload) through `search`, after `warmUp` untimed ones. */
export async function measure(w: Workload, search: (query: Float32Array) => Promise<number[]>, count = w.queries.length / w.dim, warmUp = Math.min(5, count)): Promise<Measured> {
  const { dim } = w;
  const query = (q: number) => w.queries.subarray(q * dim, (q + 1) * dim);
  for (let q = 0; q < warmUp; q++) await search(query(q));
  const times: number[] = [];
  let recall = 0;
  let imperfect = 0;
  const t0 = performance.now();
  for (let q = 0; q < count; q++) {
    const s = performance.now();
    const ids = await search(query(q));
    times.push(performance.now() - s);
    const r = recallOf(w, q, ids);
    recall += r;
    if (r < 1) imperfect++;
  }
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return { queries: count, qps: count / seconds, p50: percentile(times, 50), p99: percentile(times, 99), recall: recall / count, imperfect };
}

/** One line of the results table. */
export function row(size: number, what: string, build: string, m: Measured | undefined, note = ''): string {
  const cell = (s: string, n: number) => s.padStart(n);
  if (!m) return `${cell(size.toLocaleString('en'), 9)}  ${what.padEnd(52)} ${cell(build, 9)}  ${cell('-', 7)}  ${cell('-', 9)}  ${cell('-', 9)}  ${cell('-', 8)}  ${cell('-', 7)}  ${note}`;
  const ms = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(2));
  if (m.imperfect) note = `${m.imperfect} of ${m.queries} queries missed a neighbour${note ? `; ${note}` : ''}`;
  return `${cell(size.toLocaleString('en'), 9)}  ${what.padEnd(52)} ${cell(build, 9)}  ${cell(String(m.queries), 7)}  ${cell(m.qps.toFixed(1), 9)}  ${cell(ms(m.p50), 9)}  ${cell(ms(m.p99), 8)}  ${cell(m.recall.toFixed(4), 7)}  ${note}`;
}

export const HEADER = `${'vectors'.padStart(9)}  ${'search'.padEnd(52)} ${'build s'.padStart(9)}  ${'queries'.padStart(7)}  ${'queries/s'.padStart(9)}  ${'p50 ms'.padStart(9)}  ${'p99 ms'.padStart(8)}  ${'recall'.padStart(7)}  note`;
