/**
 * The LanceDB backend alone (no model, no server): the approximate index once past its threshold
 * against a brute force computed here, the unindexed tail folded in by optimize, filters that a
 * quote cannot break out of, another model's index and its re-binding once empty, orphaned temporary files.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LanceDbIndex } from '../../src/serve/index/lancedb-index.js';
import type { IndexItem } from '../../src/serve/index/vector-index.js';
import { tempDir } from '../temp-dir.js';

const DIM = 32;
const identity = { modelFingerprint: 'aaaaaaaaaaaa', modelName: 'm', dimension: DIM };
/** Clustered vectors (as fc7 vectors are): 20 centres, seeded noise around them. */
function item(i: number, labels: Record<string, string> = {}): IndexItem {
  let x = i * 7919 + 13;
  const rnd = () => ((x = (x * 16807) % 2147483647) / 2147483647) - 0.5;
  const c = i % 20;
  return { id: `v${i}`, vector: Float32Array.from({ length: DIM }, (_, j) => Math.sin(c * 1.3 + j) * 4 + rnd()), uri: '', labels, predictedClass: '' };
}
const brute = (q: Float32Array, items: IndexItem[], k: number) =>
  items
    .map((it) => ({ id: it.id, d: Math.sqrt(it.vector.reduce((s, v, j) => s + (v - q[j]!) ** 2, 0)) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, k);

test('past the threshold an HNSW index answers with recall against a brute force, and optimize folds new rows in', async (t) => {
  const ix = await LanceDbIndex.open(await tempDir('lance-ann'), identity, { annThreshold: 1000, optimizeIntervalMs: 0, optimizeEveryRows: 1e9 });
  const items = Array.from({ length: 1500 }, (_, i) => item(i));
  await ix.upsert(items);
  t.like(await ix.describe(), { count: 1500, indexed: 0, unindexed: 1500 });
  await ix.optimize();
  t.like(await ix.describe(), { count: 1500, indexed: 1500, unindexed: 0 });
  const more = Array.from({ length: 100 }, (_, i) => item(1500 + i));
  await ix.upsert(more);
  t.like(await ix.describe(), { count: 1600, unindexed: 100 });
  let found = 0;
  for (let q = 0; q < 20; q++) {
    const query = item(5000 + q).vector;
    const want = new Set(brute(query, [...items, ...more], 10).map((h) => h.id));
    const got = await ix.search(query, 10);
    found += got.filter((h) => want.has(h.id)).length;
    const exact = brute(query, [...items, ...more], 10);
    // Distances are Euclidean (square-rooted), whatever the order.
    for (const h of got) t.true(Math.abs(h.distance - brute(query, [[...items, ...more].find((it) => it.id === h.id)!], 1)[0]!.d) < 1e-3 * (1 + exact[0]!.d));
  }
  t.true(found / 200 >= 0.9, `recall@10 ${found / 200}`);
  await ix.optimize();
  t.like(await ix.describe(), { count: 1600, indexed: 1600, unindexed: 0 });
  await ix.close();
});

test('with the ANN index, max distance keeps every near copy a brute force finds within it (judged on exact distances, not the 8-bit quantized ones)', async (t) => {
  const ix = await LanceDbIndex.open(await tempDir('lance-max-distance'), identity, { annThreshold: 1000, optimizeIntervalMs: 0, optimizeEveryRows: 1e9 });
  const bases = Array.from({ length: 600 }, (_, i) => item(i));
  // A near copy of each (as a re-encoded photo is of its original): 0.01 to 0.02 away, the clusters' items about 2.
  const copies = bases.map((b, i) => {
    let x = i * 48271 + 7;
    return { ...b, id: `${b.id}-copy`, vector: b.vector.map((v) => v + (((x = (x * 16807) % 2147483647) / 2147483647) - 0.5) * 0.01) };
  });
  const items = [...bases, ...copies];
  await ix.upsert(items);
  await ix.optimize();
  t.like(await ix.describe(), { indexed: 1200 });
  const within = (q: Float32Array) => brute(q, items, items.length).filter((h) => h.d <= 0.05).map((h) => h.id).sort();
  let want = 0;
  let missed = 0;
  for (const b of bases.slice(0, 100)) {
    const expected = within(b.vector);
    const got = new Set((await ix.search(b.vector, 10, { maxDistance: 0.05 })).map((h) => h.id));
    want += expected.length;
    missed += expected.filter((id) => !got.has(id)).length;
  }
  t.is(want, 200, 'each base and its copy');
  t.is(missed, 0, `${missed} of ${want} items within the distance not returned`);
  await ix.close();
});

test('with the ANN index, a k above ef / refineFactor is answered (LanceDB refuses an ef below k x refineFactor)', async (t) => {
  const ix = await LanceDbIndex.open(await tempDir('lance-big-k'), identity, { annThreshold: 1000, optimizeIntervalMs: 0, optimizeEveryRows: 1e9 });
  const items = Array.from({ length: 1200 }, (_, i) => item(i));
  await ix.upsert(items);
  await ix.optimize();
  t.like(await ix.describe(), { indexed: 1200 });
  for (const k of [16, 17, 100, 1000]) t.is((await ix.search(item(5000).vector, k)).length, k, `k = ${k}`);
  await ix.close();
});

test('filters quote their values: a quote, a backslash or SQL in a label matches only itself', async (t) => {
  const ix = await LanceDbIndex.open(await tempDir('lance-quote'), identity, { optimizeIntervalMs: 0 });
  const nasty = ["it's", "') OR true --", 'back\\slash', '"double"', 'ключ'];
  await ix.upsert(nasty.map((v, i) => item(i, { [v]: v })));
  for (const [i, v] of nasty.entries()) {
    t.deepEqual((await ix.search(item(0).vector, 10, { filter: { equals: { [v]: v } } })).map((h) => h.id), [`v${i}`], v);
    t.deepEqual((await ix.search(item(0).vector, 10, { filter: { oneOf: { [v]: [v, 'other'] } } })).map((h) => h.id), [`v${i}`], v);
  }
  t.deepEqual(await ix.search(item(0).vector, 10, { filter: { equals: { "it's": 'x' } } }), []);
  t.is(await ix.delete(["') OR true --"]), 0);
  t.is((await ix.describe()).count, nasty.length);
  await ix.close();
});

test("another model's index opens as that model's and is re-bound only once empty (another dimension too); orphaned temporary files are removed at open", async (t) => {
  const dir = await tempDir('lance-identity');
  const ix = await LanceDbIndex.open(dir, identity, { optimizeIntervalMs: 0 });
  await ix.upsert([item(1)]);
  await ix.close();
  const orphan = path.join(dir, 'items.lance', 'data', '.tmp_killed_writer');
  await fs.writeFile(orphan, 'half a file');
  const other = { modelFingerprint: 'bbbbbbbbbbbb', modelName: 'n', dimension: 8 };
  const again = await LanceDbIndex.open(dir, other, { optimizeIntervalMs: 0 });
  await t.throwsAsync(fs.stat(orphan));
  t.deepEqual(await again.storedIdentity(), identity);
  t.false(await again.rebind(other), 'it holds an item');
  t.is((await again.get(['v1']))[0]!.id, 'v1');
  t.is(await again.delete(['v1']), 1);
  t.true(await again.rebind(other));
  const small = { id: 's', vector: Float32Array.from({ length: 8 }, (_, j) => j), uri: '', labels: {}, predictedClass: '' };
  await again.upsert([small]);
  t.like(await again.describe(), { ...other, count: 1 });
  await again.close();
  const reopened = await LanceDbIndex.open(dir, identity, { optimizeIntervalMs: 0 });
  t.deepEqual(await reopened.storedIdentity(), other, 'the new binding is on disk');
  t.is((await reopened.search(small.vector, 1))[0]!.id, 's');
  await reopened.close();
});

test('vectors computed by the model the index held before a rebind are refused, nothing written; written alongside in one commit, the current model\'s go in', async (t) => {
  const ix = await LanceDbIndex.open(await tempDir('lance-rebound'), identity, { optimizeIntervalMs: 0 });
  const other = { modelFingerprint: 'bbbbbbbbbbbb', modelName: 'n', dimension: DIM };
  // As a reload does: a call checked the index against the old model, then it was re-bound (empty) for the new one.
  t.true(await ix.rebind(other));
  const [old, current] = await Promise.allSettled([ix.upsert([item(1), item(2)], identity), ix.upsert([item(3)], other)]);
  t.is(old.status, 'rejected');
  t.regex((old as PromiseRejectedResult).reason.message, /now holds vectors of model n \(version bbbbbbbbbbbb\), not of m \(version aaaaaaaaaaaa\).*nothing was written/);
  t.is(current.status, 'fulfilled');
  t.like(await ix.describe(), { ...other, count: 1 });
  t.deepEqual((await ix.get(['v1', 'v2', 'v3'])).map((it) => it?.id), [undefined, undefined, 'v3']);
  await ix.close();
});
