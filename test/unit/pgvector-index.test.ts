/**
 * The pgvector backend against a real PostgreSQL + pgvector (PGlite served on 127.0.0.1, see
 * pglite-server.ts) and a brute force computed here over random clustered vectors: exact and HNSW
 * search, filters, max_distance, excluded ids, upsert/get/delete, all-or-nothing writes, the
 * another model's table and its re-binding once empty, two replicas opening at once, and persistence across a restart.
 */
import test from 'ava';
import pg from 'pg';
import { ConfigError, FailedPreconditionError } from '../../src/errors.js';
import { openVectorIndex } from '../../src/serve/index/open-vector-index.js';
import { openPgvectorIndex, type PgvectorIndex } from '../../src/serve/index/pgvector-index.js';
import type { IndexIdentity, IndexItem, SearchHit } from '../../src/serve/index/vector-index.js';
import { BadRequestError } from '../../src/serve/status.js';
import { startPgliteServer, type PgliteServer } from '../pglite-server.js';
import { tempDir } from '../temp-dir.js';

const N = 2000;
const D = 64;
const CLUSTERS = 20;
const ODD_KEY = `we'ird "key" ü;--`;
const ODD_VALUE = `it's "quoted" \\ ü`;
const identity: IndexIdentity = { modelFingerprint: '0123456789ab', modelName: 'alexnet-test', dimension: D };

/** mulberry32: the same data on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(42);
const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const centers = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: D }, () => gauss() * 4));
const near = (c: Float32Array, spread: number) => Float32Array.from(c, (x) => x + gauss() * spread);

const items: IndexItem[] = Array.from({ length: N }, (_, i) => ({
  id: `img-${i}`,
  vector: near(centers[i % CLUSTERS]!, 1),
  uri: `file:///images/${i}.jpg`,
  // Five items carry the odd label: a filter on it has fewer than k matches.
  labels: { cluster: `c${i % CLUSTERS}`, half: i < N / 2 ? 'first' : 'second', ...(i % 400 === 7 ? { [ODD_KEY]: ODD_VALUE } : {}) },
  predictedClass: `class-${i % CLUSTERS}`,
}));
const queries = Array.from({ length: 50 }, (_, q) => near(centers[q % CLUSTERS]!, 1.2));

/** The oracle: every distance in double precision, sorted. */
function bruteForce(query: Float32Array, k: number, keep: (item: IndexItem) => boolean = () => true): { id: string; distance: number }[] {
  return items
    .filter(keep)
    .map((item) => {
      let s = 0;
      for (let j = 0; j < D; j++) s += (item.vector[j]! - query[j]!) ** 2;
      return { id: item.id, distance: Math.sqrt(s) };
    })
    .sort((a, b) => a.distance - b.distance)
    .slice(0, k);
}

function assertEqualsBruteForce(t: import('ava').ExecutionContext, got: SearchHit[], want: { id: string; distance: number }[], what: string) {
  t.deepEqual(got.map((h) => h.id), want.map((h) => h.id), `${what}: ids in order`);
  got.forEach((h, i) => t.true(Math.abs(h.distance - want[i]!.distance) <= 1e-4 * Math.max(1, want[i]!.distance), `${what}: distance ${h.distance} vs ${want[i]!.distance}`));
}

const literal = (v: Float32Array) => `[${Array.from(v).join(',')}]`;

let server: PgliteServer;
let exact: PgvectorIndex;
let hnsw: PgvectorIndex;
const at = (table: string) => `${server.url}?table=${table}&pool_max=2`;

test.before(async () => {
  server = await startPgliteServer({ maxConnections: 16 });
  exact = await openPgvectorIndex(at('exact_items'), identity);
  hnsw = await openPgvectorIndex(at('hnsw_items'), identity, { hnswThreshold: 1000 });
  const t0 = performance.now();
  await exact.upsert(items);
  const t1 = performance.now();
  await hnsw.upsert(items);
  console.log(`pgvector on PGlite: ${N} x ${D} upserted in ${((t1 - t0) / 1000).toFixed(2)} s; with the HNSW build ${((performance.now() - t1) / 1000).toFixed(2)} s`);
});

test.after.always(async () => {
  await exact?.close();
  await hnsw?.close();
  await server?.stop();
});

test.serial('exact search (below the HNSW threshold) equals the brute force, order and distances', async (t) => {
  t.like(await exact.describe(), { count: N, dimension: D, indexed: 0, unindexed: N, backend: 'pgvector', metric: 'euclidean', modelFingerprint: identity.modelFingerprint });
  for (const [q, query] of queries.slice(0, 20).entries()) assertEqualsBruteForce(t, await exact.search(query, 10), bruteForce(query, 10), `query ${q}`);
  const [hit] = await exact.search(items[3]!.vector, 1);
  t.like(hit, { id: 'img-3', uri: items[3]!.uri, predictedClass: items[3]!.predictedClass, labels: items[3]!.labels });
});

test.serial('HNSW search: the plan uses the index, recall@10 against the brute force', async (t) => {
  t.like(await hnsw.describe(), { count: N, indexed: N, unindexed: 0 });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const plan = (await client.query(`EXPLAIN SELECT id FROM hnsw_items ORDER BY vector <-> $1::vector LIMIT 10`, [literal(queries[0]!)])).rows.map((r) => r['QUERY PLAN']).join('\n');
  // PGlite is one session shared by every connection (pglite-server.ts), so this reaches the index's pool too: at 2,000 rows the planner would rather scan a filtered query exactly.
  await client.query('SET enable_seqscan = off');
  const filtered = `SELECT id FROM hnsw_items WHERE labels->>'half' = 'second' ORDER BY vector <-> $1::vector LIMIT 10`;
  const filteredPlan = (await client.query(`EXPLAIN ${filtered}`, [literal(queries[1]!)])).rows.map((r) => r['QUERY PLAN']).join('\n');
  // Without the iterative scan that query stops at ef_search candidates, so it returns fewer than k rows; search() must not.
  await client.query('BEGIN; SET LOCAL hnsw.ef_search = 10; SET LOCAL hnsw.iterative_scan = off');
  const plain = await client.query(filtered, [literal(queries[1]!)]);
  await client.query('COMMIT');
  t.regex(plan, /hnsw_items_hnsw/, plan);
  t.regex(filteredPlan, /hnsw_items_hnsw/, filteredPlan);
  t.true(plain.rowCount! < 10, `a plain filtered HNSW query returned ${plain.rowCount} rows`);
  assertEqualsBruteForce(t, await hnsw.search(queries[1]!, 10, { filter: { equals: { half: 'second' } } }), bruteForce(queries[1]!, 10, (i) => i.labels.half === 'second'), 'filtered HNSW');
  await client.query('RESET enable_seqscan');
  await client.end();
  let found = 0;
  const ms: number[] = [];
  for (const query of queries) {
    const t0 = performance.now();
    const got = await hnsw.search(query, 10);
    ms.push(performance.now() - t0);
    const want = bruteForce(query, 10);
    const wantDistance = new Map(want.map((h) => [h.id, h.distance]));
    for (const h of got) {
      const d = wantDistance.get(h.id);
      if (d === undefined) continue;
      found++;
      t.true(Math.abs(h.distance - d) <= 1e-4 * Math.max(1, d));
    }
    t.true(got.every((h, i) => i === 0 || got[i - 1]!.distance <= h.distance), 'nearest first');
  }
  const recall = found / (queries.length * 10);
  ms.sort((a, b) => a - b);
  console.log(`pgvector HNSW (m 16, ef_construction 64, ef_search 64) on PGlite, ${N} x ${D}, ${CLUSTERS} clusters: recall@10 ${recall.toFixed(4)}, p50 ${ms[ms.length >> 1]!.toFixed(1)} ms per search over ${queries.length} queries`);
  t.true(recall >= 0.95, `recall@10 ${recall}`);
});

test.serial('filters: equals, one_of, an odd key and value; k results when k match, only those when fewer', async (t) => {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  t.teardown(() => client.end());
  for (const index of [exact, hnsw]) {
    // As above: the HNSW table is searched through its index, the filters through the iterative scan.
    await client.query(index === hnsw ? 'SET enable_seqscan = off' : 'RESET enable_seqscan');
    const query = queries[1]!;
    const c3 = await index.search(query, 10, { filter: { equals: { cluster: 'c3' } } });
    assertEqualsBruteForce(t, c3, bruteForce(query, 10, (i) => i.labels.cluster === 'c3'), `${index === hnsw ? 'hnsw' : 'exact'} equals`);
    const both = await index.search(query, 10, { filter: { equals: { half: 'second' }, oneOf: { cluster: ['c5', 'c9'] } } });
    assertEqualsBruteForce(t, both, bruteForce(query, 10, (i) => i.labels.half === 'second' && ['c5', 'c9'].includes(i.labels.cluster!)), 'equals + one_of');
    const odd = await index.search(query, 10, { filter: { equals: { [ODD_KEY]: ODD_VALUE } } });
    t.is(odd.length, 5, 'only the five that match');
    assertEqualsBruteForce(t, odd, bruteForce(query, 10, (i) => i.labels[ODD_KEY] === ODD_VALUE), 'odd key and value');
    t.deepEqual(await index.search(query, 10, { filter: { equals: { cluster: "c3' OR '1'='1" } } }), []);
    t.deepEqual(await index.search(query, 10, { filter: { oneOf: { cluster: [] } } }), []);
  }
  await client.query('RESET enable_seqscan');
});

test.serial('max_distance keeps the hits at most that far; excluded ids are never returned', async (t) => {
  const query = queries[2]!;
  const want = bruteForce(query, 20);
  const within = await exact.search(query, 10, { maxDistance: (want[4]!.distance + want[5]!.distance) / 2 });
  assertEqualsBruteForce(t, within, want.slice(0, 5), 'max_distance');
  t.deepEqual(await exact.search(query, 10, { maxDistance: want[0]!.distance / 2 }), []);
  const excluded = await exact.search(query, 10, { excludeIds: want.slice(0, 3).map((h) => h.id) });
  assertEqualsBruteForce(t, excluded, want.slice(3, 13), 'exclude ids');
  const [self, ...rest] = await hnsw.search(items[11]!.vector, 3, { excludeIds: ['img-11'] });
  t.true(self!.id !== 'img-11' && rest.every((h) => h.id !== 'img-11'));
  await t.throwsAsync(exact.search(query, 0), { instanceOf: BadRequestError });
  await t.throwsAsync(exact.search(new Float32Array(D + 1), 3), { instanceOf: BadRequestError });
});

test.serial('upsert replaces by id; get in order with undefined for unknown ids; delete counts what was stored', async (t) => {
  const index = await openPgvectorIndex(at('crud_items'), identity);
  t.teardown(() => index.close());
  await index.upsert(items.slice(0, 10));
  const replaced: IndexItem = { id: 'img-4', vector: items[100]!.vector, uri: 'file:///new.jpg', labels: { note: 'replaced' }, predictedClass: 'x' };
  await index.upsert([replaced]);
  t.is((await index.describe()).count, 10);
  const [a, missing, b] = await index.get(['img-4', 'nope', 'img-5']);
  t.deepEqual(a, replaced, 'the vector comes back bit for bit');
  t.is(missing, undefined);
  t.deepEqual(b, items[5]);
  // Within one batch the last of an id wins.
  await index.upsert([{ ...items[6]!, uri: 'first' }, { ...items[6]!, uri: 'second' }]);
  t.is((await index.get(['img-6']))[0]!.uri, 'second');
  t.is(await index.delete(['img-1', 'img-2', 'nope', 'img-1']), 2);
  t.is((await index.describe()).count, 8);
  t.deepEqual(await index.get(['img-1']), [undefined]);
});

test.serial('an upsert is all or nothing: a bad vector, or a failure inside the database, stores none of the batch', async (t) => {
  const index = await openPgvectorIndex(at('atomic_items'), identity);
  t.teardown(() => index.close());
  await index.upsert(items.slice(0, 2));
  const short = { ...items[2]!, vector: new Float32Array(D - 1) };
  await t.throwsAsync(index.upsert([items[3]!, short, items[4]!]), { instanceOf: BadRequestError, message: /63 values, the index holds 64/ });
  await t.throwsAsync(index.upsert([{ ...items[3]!, vector: Float32Array.from(items[3]!.vector, (x, j) => (j === 5 ? NaN : x)) }]), { instanceOf: BadRequestError });
  // jsonb refuses a NUL character, so the database fails on the second statement of the batch, after the first wrote 500 rows.
  const batch = items.slice(0, 700).map((item, i) => (i === 650 ? { ...item, labels: { bad: 'a\u0000b' } } : { ...item, uri: 'changed' }));
  await t.throwsAsync(index.upsert(batch));
  t.is((await index.describe()).count, 2);
  t.deepEqual((await index.get(['img-0', 'img-3', 'img-600'])).map((i) => i?.uri), [items[0]!.uri, undefined, undefined]);
});

test.serial("a table made by another model opens as that model's, is re-bound only once empty, and a replica's stale binding writes nothing", async (t) => {
  const index = await openPgvectorIndex(at('owned_items'), identity);
  await index.upsert(items.slice(0, 3));
  const other: IndexIdentity = { modelFingerprint: 'ffffffffffff', modelName: 'other', dimension: 32 };
  const second = await openPgvectorIndex(at('owned_items'), other);
  t.deepEqual(await second.storedIdentity(), identity);
  t.false(await second.rebind(other), 'it holds items');
  t.is((await second.describe()).count, 3);
  await t.throwsAsync(openPgvectorIndex(at('Robert"); DROP TABLE x; --'), identity), { instanceOf: ConfigError });
  t.is(await second.delete(items.slice(0, 3).map((i) => i.id)), 3);
  t.true(await second.rebind(other));
  t.true(await second.rebind(other), 'again: already bound');
  const small = { ...items[0]!, vector: items[0]!.vector.slice(0, 32) };
  await second.upsert([small]);
  t.like(await second.describe(), { ...other, count: 1 });
  // The first replica still holds the old binding: its write is refused, not mixed in.
  await t.throwsAsync(index.upsert([items[5]!]), { instanceOf: FailedPreconditionError, message: /ffffffffffff.*re-bound by another server/ });
  t.deepEqual(await index.storedIdentity(), other);
  // Now bound as the table is, it still refuses vectors its caller computed with the old model (a call in flight across a reload).
  await t.throwsAsync(index.upsert([items[5]!], identity), { instanceOf: FailedPreconditionError, message: /not of alexnet-test \(version 0123456789ab\) that computed these.*nothing was written/ });
  t.is((await index.describe()).count, 1);
  await Promise.all([index.close(), second.close()]);
  const again = await openPgvectorIndex(at('owned_items'), identity);
  t.like(await again.describe(), { ...other, count: 1 });
  await again.close();
});

test.serial('two replicas opening a new table at once both succeed, with one identity; openVectorIndex takes postgres:// and postgresql://', async (t) => {
  const [a, b] = await Promise.all([openVectorIndex(at('replica_items'), identity), openVectorIndex(at('replica_items').replace(/^postgres:/, 'postgresql:'), identity)]);
  t.is(a.backend, 'pgvector');
  await a.upsert(items.slice(0, 5));
  t.is((await b.describe()).count, 5);
  await Promise.all([a.close(), b.close()]);
});

test.serial('the index persists across a close and a server restart', async (t) => {
  const dataDir = await tempDir('pgvector');
  let disk = await startPgliteServer({ dataDir });
  const first = await openPgvectorIndex(`${disk.url}?table=kept`, identity, { hnswThreshold: 1000 });
  await first.upsert(items.slice(0, 1200));
  await first.close();
  await disk.stop();
  disk = await startPgliteServer({ dataDir });
  t.teardown(() => disk.stop());
  const reopened = await openPgvectorIndex(`${disk.url}?table=kept`, identity, { hnswThreshold: 1000 });
  t.like(await reopened.describe(), { count: 1200, indexed: 1200 });
  t.deepEqual(await reopened.get(['img-1199']), [items[1199]]);
  t.is((await reopened.search(items[17]!.vector, 1))[0]!.id, 'img-17');
  await reopened.close();
});
