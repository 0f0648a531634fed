/**
 * bench:search's LanceDB index of N vectors: the table created by the backend itself (its schema,
 * identity file), then the rows added in batches of 50,000 whose vectors are views of one
 * Float32Array (the backend's upsert copies each vector into a JS array and merges by id: fine for
 * a stream of images, needlessly slow for a million drawn rows), then opened again by the backend,
 * whose optimize() builds its ANN index. Row ids are the base indices as strings.
 */
import * as lancedb from '@lancedb/lancedb';
import { LanceDbIndex, type LanceDbOptions } from '../src/serve/index/lancedb-index.js';
import type { IndexIdentity } from '../src/serve/index/vector-index.js';

const BATCH = 50_000;

/** Rows as the backend writes them (lancedb-index.ts, upsert), the vector a view of `base`. */
function rows(base: Float32Array, dim: number, start: number, n: number, uri: (i: number) => string): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, j) => ({
    id: String(start + j),
    vector: base.subarray((start + j) * dim, (start + j + 1) * dim),
    uri: uri(start + j),
    labels: '{}',
    label_pairs: [],
    predicted_class: '',
  }));
}

/** A fresh table in `dir` holding `base` (count x dim), no ANN index yet: seconds to load the rows. */
export async function loadLanceRows(dir: string, identity: IndexIdentity, base: Float32Array, uri: (i: number) => string): Promise<number> {
  const { dimension: dim } = identity;
  const count = base.length / dim;
  const t0 = performance.now();
  const first = await LanceDbIndex.open(dir, identity, QUIET);
  await first.upsert([{ id: '0', vector: base.subarray(0, dim), uri: uri(0), labels: {}, predictedClass: '' }]);
  await first.close();
  const db = await lancedb.connect(dir);
  const table = await db.openTable('items');
  for (let start = 1; start < count; start += BATCH) await table.add(rows(base, dim, start, Math.min(BATCH, count - start), uri));
  const rowsStored = await table.countRows();
  table.close();
  db.close();
  if (rowsStored !== count) throw new Error(`the LanceDB table holds ${rowsStored} rows, not ${count}`);
  return (performance.now() - t0) / 1000;
}

/** The backend's own optimize() on the loaded table: it builds the ANN index (IVF_HNSW_SQ) and compacts. Seconds. */
export async function buildLanceAnn(dir: string, identity: IndexIdentity): Promise<number> {
  const t0 = performance.now();
  const index = await LanceDbIndex.open(dir, identity, QUIET);
  await index.optimize();
  const described = await index.describe();
  await index.close();
  if (described.unindexed !== 0) throw new Error(`the ANN index leaves ${described.unindexed} of ${described.count} rows unindexed`);
  return (performance.now() - t0) / 1000;
}

/** Opened for searching only: no optimize by count or time. */
export const QUIET: LanceDbOptions = { optimizeIntervalMs: 0, optimizeEveryRows: Number.MAX_SAFE_INTEGER };
