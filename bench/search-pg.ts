/**
 * bench:search's pgvector part: a real PostgreSQL with pgvector as the tests start it (PGlite,
 * PostgreSQL compiled to WebAssembly, ONE backend, served on 127.0.0.1: test/pglite-server.ts),
 * used through the project's backend (pgvector-index.ts) with the real `pg` client. The rows go in
 * through upsert with the HNSW threshold out of reach (insert rate), a few exact searches run
 * (sequential scan), then the backend opened again with the default threshold builds its HNSW
 * index at open (build time), and searches run with each ef_search asked for.
 */
import { openPgvectorIndex } from '../src/serve/index/pgvector-index.js';
import type { IndexIdentity, IndexItem } from '../src/serve/index/vector-index.js';
import { startPgliteServer } from '../test/pglite-server.js';
import { measure, type Measured, type Workload } from './search-measure.js';

const CHUNK = 1000;

export interface PgResult {
  insertSeconds: number;
  rowsPerSecond: number;
  buildSeconds: number;
  exact: Measured;
  hnsw: { efSearch: number; m: Measured }[];
}

export async function benchPgvector(w: Workload, identity: IndexIdentity, opts: { exactQueries: number; efSearch: number[]; log: (line: string) => void }): Promise<PgResult> {
  const { base, dim } = w;
  const count = base.length / dim;
  const pg = await startPgliteServer({ maxConnections: 4 });
  const location = `${pg.url}?table=bench_search&pool_max=1`;
  try {
    const loading = await openPgvectorIndex(location, identity, { hnswThreshold: Number.MAX_SAFE_INTEGER });
    const t0 = performance.now();
    for (let start = 0; start < count; start += CHUNK) {
      const items: IndexItem[] = [];
      for (let i = start; i < Math.min(count, start + CHUNK); i++) items.push({ id: String(i), vector: base.subarray(i * dim, (i + 1) * dim), uri: `bench:${i}`, labels: {}, predictedClass: '' });
      await loading.upsert(items);
      if ((start / CHUNK) % 10 === 9) opts.log(`  pgvector: ${start + CHUNK} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const insertSeconds = (performance.now() - t0) / 1000;
    const ids = (hits: { id: string }[]) => hits.map((h) => Number(h.id));
    const exact = await measure(w, async (q) => ids(await loading.search(q, w.k)), opts.exactQueries, 1);
    await loading.close();
    const t1 = performance.now();
    const built = await openPgvectorIndex(location, identity);
    const buildSeconds = (performance.now() - t1) / 1000;
    const described = await built.describe();
    await built.close();
    if (described.indexed !== count) throw new Error(`pgvector: the HNSW index covers ${described.indexed} of ${count} rows`);
    const hnsw: PgResult['hnsw'] = [];
    for (const efSearch of opts.efSearch) {
      const index = await openPgvectorIndex(location, identity, { efSearch });
      hnsw.push({ efSearch, m: await measure(w, async (q) => ids(await index.search(q, w.k))) });
      await index.close();
    }
    return { insertSeconds, rowsPerSecond: count / insertSeconds, buildSeconds, exact, hnsw };
  } finally {
    await pg.stop();
  }
}
