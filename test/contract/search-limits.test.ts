/**
 * ImageSearch at its documented limits, against a real server: a SearchBatch whose answer is
 * several MiB (64 queries of k 1000) is answered in full; an item's uri and labels are bounded at
 * Upsert (what every hit carries back); labels match whichever Unicode form they were written in.
 */
import test from 'ava';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { SearchClient } from '../../src/serve/search-client.js';
import { Rng } from '../../src/util/rng.js';
import { MODEL, quiet } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';

const s = {} as { server: RunningServer; client: SearchClient; dim: number };
test.before(async () => {
  s.server = await startServer({ model: MODEL, index: await tempDir('search-limits-index'), port: 0, device: 'cpu', logger: quiet });
  s.client = new SearchClient(s.server.address);
  s.dim = (await s.client.describe()).dimension;
});
test.after.always(async () => {
  s.client?.close();
  await s.server?.shutdown('tests done');
});

const rng = new Rng(9);
const vector = (dim: number) => ({ values: Array.from({ length: dim }, () => rng.uniform()) });

test.serial('a SearchBatch answer of several MiB (64 queries x 1000 hits) is answered whole, each query its k hits', async (t) => {
  const items = Array.from({ length: 1000 }, (_, i) => ({ id: `item-${i}`, vector: vector(s.dim), uri: `/photos/${'x'.repeat(60)}/${i}.jpg`, labels: { class: `c${i % 7}` } }));
  for (let at = 0; at < items.length; at += 250) t.true((await s.client.upsert(items.slice(at, at + 250))).every((r) => r.ok));
  const queries = Array.from({ length: 64 }, () => ({ vector: vector(s.dim), k: 1000 }));
  const r = await s.client.searchBatch(queries);
  t.is(r.results.length, 64);
  for (const q of r.results) t.is(q.hits.length, 1000);
  // Over the 4 MiB the server once allowed itself to send.
  const bytes = r.results.reduce((sum, q) => sum + q.hits.reduce((a, h) => a + h.id.length + h.uri.length + 40, 0), 0);
  t.true(bytes > 4 * 1024 * 1024, `${bytes} bytes of hits`);
});

test.serial('uri and labels are bounded at Upsert; labels written decomposed (NFD) match a filter written composed (NFC)', async (t) => {
  const one = async (item: Record<string, unknown>) => (await s.client.upsert([{ id: 'bounded', vector: vector(s.dim), ...item }]))[0]!;
  t.regex((await one({ uri: 'u'.repeat(3 << 20) })).error?.message ?? '', /uri is 3145728 characters, more than 2048/);
  const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
  t.regex((await one({ labels: many })).error?.message ?? '', /has 33 keys, more than 32/);
  t.regex((await one({ labels: { note: 'n'.repeat(600) } })).error?.message ?? '', /is 600 characters, more than 512/);
  t.true((await one({ uri: 'ok', labels: { class: 'cafe\u0301' } })).ok);
  const hits = (await s.client.search({ id: 'bounded', k: 5, filter: { equals: { class: 'caf\u00e9' } } })).hits;
  t.deepEqual(hits.map((h) => h.id), ['bounded']);
});

test.serial('a filter is bounded as labels are: one_of of 1,000 keys or 1,001 values is INVALID_ARGUMENT (1,000 keys once crashed the server); 32 keys of 1,000 values in all are searched', async (t) => {
  const code = (p: Promise<unknown>) => p.then(() => 'OK', (e: { code: number; details: string }) => `${e.code} ${e.details}`);
  const keys = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, { values: ['v'] }]));
  t.regex(await code(s.client.search({ vector: vector(s.dim), k: 5, filter: { one_of: keys } })), /^3 filter.one_of has 1000 keys, more than 32/);
  const many = { class: { values: Array.from({ length: 1001 }, (_, i) => `c${i}`) } };
  t.regex(await code(s.client.search({ vector: vector(s.dim), k: 5, filter: { one_of: many } })), /^3 filter.one_of lists 1001 values, more than 1000/);
  t.regex(await code(s.client.search({ vector: vector(s.dim), k: 5, filter: { one_of: { class: { values: ['x'.repeat(600)] } } } })), /^3 filter.one_of\["class"\] is 600 characters, more than 512/);
  // At the limits: class c1 or c3 (of c0..c6 stored by the first test), the other values and keys match nothing.
  const wanted = { class: { values: ['c1', 'c3', ...Array.from({ length: 967 }, (_, i) => `none-${i}`)] } };
  const others = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i + 1}`, { values: ['v'] }]));
  const hits = (await s.client.search({ vector: vector(s.dim), k: 1000, filter: { one_of: { ...wanted, ...others } } })).hits;
  t.is(hits.length, 0, 'no item has the keys k1..k31');
  const only = (await s.client.search({ vector: vector(s.dim), k: 1000, filter: { one_of: wanted } })).hits;
  t.deepEqual([...new Set(only.map((h) => h.labels['class']))].sort(), ['c1', 'c3']);
  // The first test stored item-i with class c(i % 7).
  t.is(only.length, Array.from({ length: 1000 }, (_, i) => i % 7).filter((c) => c === 1 || c === 3).length);
});
