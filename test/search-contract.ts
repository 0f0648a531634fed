/**
 * The ImageSearch contract as one test body any VectorIndex backend runs (not a test file): a real
 * server of the shipped model on 127.0.0.1:0 with `--index` = makeIndexLocation(), a real client.
 * The oracles: the vectors Embed returns and a brute-force Euclidean search computed here.
 */
import avaTest from 'ava';
import { status } from '@grpc/grpc-js';
import { AlexNetClient } from '../src/serve/client.js';
import { SearchClient } from '../src/serve/search-client.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { cli, MODEL, png, quiet } from './serve-fixtures.js';
import { tempDir } from './temp-dir.js';

type Hit = { id: string; distance: number };

/** Brute force: every (id, vector), Euclidean distance in float64, nearest first. */
function bruteForce(query: ArrayLike<number>, items: { id: string; vector: ArrayLike<number> }[], k: number): Hit[] {
  const d = items.map(({ id, vector }) => {
    let s = 0;
    for (let i = 0; i < query.length; i++) s += (query[i]! - vector[i]!) ** 2;
    return { id, distance: Math.sqrt(s) };
  });
  return d.sort((a, b) => a.distance - b.distance).slice(0, k);
}

/** A seeded vector of `dim` values around a per-cluster centre (for label tests without images). */
function vector(seed: number, dim: number): number[] {
  let x = seed * 9301 + 49297;
  return Array.from({ length: dim }, () => ((x = (x * 9301 + 49297) % 233280) / 233280) * 4);
}

async function code(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; details: string };
  }
  throw new Error('the call succeeded');
}

/** `serial`: one test at a time (a backend whose test server runs one transaction at a time, as PGlite does). */
export function defineSearchContract(name: string, makeIndexLocation: (label: string) => Promise<string>, { serial = false } = {}): void {
  const test = serial ? avaTest.serial : avaTest;
  const s = {} as { server: RunningServer; alexnet: AlexNetClient; search: SearchClient; dim: number };
  const serve = async (index: string, model = MODEL) => startServer({ model, index, port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet });
  avaTest.before(async () => {
    s.server = await serve(await makeIndexLocation('main'));
    s.alexnet = new AlexNetClient(s.server.address);
    s.search = new SearchClient(s.server.address);
    s.dim = s.server.info.embedding_dimension!;
  });
  avaTest.after.always(async () => {
    s.alexnet?.close();
    s.search?.close();
    await s.server?.shutdown('tests done');
  });
  const upsertImages = async (group: string, ks: number[]) => {
    const items = await Promise.all(ks.map(async (k) => ({ id: `${group}-${k}`, image: await png(k), uri: `file:///${group}/${k}.png`, labels: { group } })));
    const res = await s.search.upsert(items);
    return { items, res };
  };

  test(`${name}: an indexed image searched by its bytes comes first at distance ~0, with its uri, labels and predicted class`, async (t) => {
    const { items, res } = await upsertImages('self', [1, 2, 3, 4, 5]);
    t.true(res.every((r, i) => r.ok && r.id === items[i]!.id), JSON.stringify(res));
    const classified = await s.alexnet.classify({ image: items[2]!.image, top_k: 1 });
    t.is(res[2]!.predicted_class, classified.classes[0]!.label);
    const r = await s.search.search({ image: items[2]!.image, k: 3, filter: { equals: { group: 'self' } } });
    t.is(r.hits.length, 3);
    t.is(r.hits[0]!.id, 'self-3');
    t.true(r.hits[0]!.distance < 1e-3, String(r.hits[0]!.distance));
    t.is(r.hits[0]!.uri, 'file:///self/3.png');
    t.deepEqual(r.hits[0]!.labels, { group: 'self' });
    t.is(r.hits[0]!.predicted_class, classified.classes[0]!.label);
  });

  test(`${name}: exact search equals a brute-force Euclidean search over Embed's vectors (order and distances)`, async (t) => {
    const ks = Array.from({ length: 16 }, (_, i) => 20 + i);
    const { items, res } = await upsertImages('bf', ks);
    t.true(res.every((r) => r.ok));
    const vectors = await Promise.all(items.map(async (it) => ({ id: it.id, vector: (await s.alexnet.embed({ image: it.image })).embedding!.vector })));
    const queryImage = await png(99);
    const query = (await s.alexnet.embed({ image: queryImage })).embedding!.vector;
    const want = bruteForce(query, vectors, 8);
    for (const req of [{ vector: { values: query } }, { image: queryImage }]) {
      const got = (await s.search.search({ ...req, k: 8, filter: { equals: { group: 'bf' } } })).hits;
      t.deepEqual(got.map((h) => h.id), want.map((h) => h.id));
      got.forEach((h, i) => t.true(Math.abs(h.distance - want[i]!.distance) <= 1e-4 * want[i]!.distance, `${h.distance} vs ${want[i]!.distance}`));
    }
  });

  test(`${name}: filters return only matching items, still k of them when k exist (a value with quotes too)`, async (t) => {
    const colors = ['red', 'green', `it's "blue"\\`] as const;
    const items = Array.from({ length: 18 }, (_, i) => ({ id: `f-${i}`, vector: { values: vector(i, s.dim) }, labels: { group: 'filter', color: colors[i % 3]!, shape: i < 9 ? 'round' : 'square' } }));
    t.true((await s.search.upsert(items)).every((r) => r.ok));
    const q = vector(1000, s.dim);
    const check = async (filter: object, pred: (l: Record<string, string>) => boolean, k: number) => {
      const got = (await s.search.search({ vector: { values: q }, k, filter })).hits;
      const matching = items.filter((it) => pred(it.labels)).map((it) => ({ id: it.id, vector: it.vector.values }));
      t.deepEqual(got.map((h) => h.id), bruteForce(q, matching, k).map((h) => h.id), JSON.stringify(filter));
      t.true(got.every((h) => pred(h.labels)));
    };
    await check({ equals: { group: 'filter', color: 'red' } }, (l) => l.group === 'filter' && l.color === 'red', 5);
    await check({ equals: { group: 'filter', color: colors[2] } }, (l) => l.group === 'filter' && l.color === colors[2], 6);
    await check({ equals: { group: 'filter' }, one_of: { color: { values: ['green', colors[2]!] } } }, (l) => l.group === 'filter' && l.color !== 'red', 10);
    await check({ equals: { group: 'filter', shape: 'square' }, one_of: { color: { values: ['red', 'nothing'] } } }, (l) => l.group === 'filter' && l.shape === 'square' && l.color === 'red', 3);
    t.is((await s.search.search({ vector: { values: q }, k: 5, filter: { equals: { group: 'filter', color: "it's" } } })).hits.length, 0);
  });

  test(`${name}: get, replace by id, delete, re-upsert; query by id with exclude_self; max_distance`, async (t) => {
    const a = { id: 'life-a', vector: { values: vector(1, s.dim) }, uri: 'a1', labels: { group: 'life' } };
    const b = { id: 'life-b', vector: { values: vector(2, s.dim) }, uri: 'b', labels: { group: 'life' } };
    await s.search.upsert([a, b, { ...a, uri: 'a2' }]);
    const got = await s.search.get({ ids: ['life-a', 'life-b'] });
    t.deepEqual(got.items.map((i) => [i.id, i.found, i.uri]), [['life-a', true, 'a2'], ['life-b', true, 'b']]);
    t.true(got.items[1]!.vector!.values.every((v, i) => Math.abs(v - b.vector.values[i]!) <= 1e-6 * Math.abs(b.vector.values[i]!) + 1e-6));
    const byId = await s.search.search({ id: 'life-a', k: 2, exclude_self: true, filter: { equals: { group: 'life' } } });
    t.deepEqual(byId.hits.map((h) => h.id), ['life-b']);
    const dAB = bruteForce(a.vector.values, [{ id: 'b', vector: b.vector.values }], 1)[0]!.distance;
    t.deepEqual((await s.search.search({ id: 'life-a', k: 5, max_distance: dAB * 0.99, filter: { equals: { group: 'life' } } })).hits.map((h) => h.id), ['life-a']);
    t.deepEqual((await s.search.search({ id: 'life-a', k: 5, max_distance: dAB * 1.01, filter: { equals: { group: 'life' } } })).hits.map((h) => h.id), ['life-a', 'life-b']);
    t.is((await s.search.delete(['life-a', 'never-stored'])).deleted, 1);
    t.deepEqual((await s.search.get({ ids: ['life-a', 'life-b'], allow_missing: true })).items.map((i) => i.found), [false, true]);
    t.is((await code(s.search.get({ ids: ['life-a'] }))).code, status.NOT_FOUND);
    await s.search.upsert([a]);
    t.is((await s.search.search({ vector: a.vector, k: 1, filter: { equals: { group: 'life' } } })).hits[0]!.id, 'life-a');
  });

  test(`${name}: List pages through every item in the byte order of ids, filtered, with tokens only it gives`, async (t) => {
    // Ids whose byte order differs from a locale's (case, digits, accents, a tilde), labels to filter on.
    const names = ['B', 'a', 'Z9', 'z', '10', '9', 'é', 'e', '~x', 'A-1', 'A_1', 'ß', 'c', 'C', 'list', 'éa', 'Ea', '0', '00', 'x y', 'ñ', 'n', 'ü', 'u', 'Ω'];
    const items = names.map((n, i) => ({ id: `list ${n}`, vector: { values: vector(100 + i, s.dim) }, uri: `u/${i}`, labels: { group: 'list', parity: i % 2 ? 'odd' : 'even' } }));
    t.true((await s.search.upsert(items)).every((r) => r.ok));
    // The oracle: UTF-8 byte order, computed here.
    const byBytes = (ids: string[]) => [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const pages = async (filter: object, pageSize: number) => {
      const out: { id: string; uri: string; labels: Record<string, string>; found: boolean }[][] = [];
      let token = '';
      do {
        const r = await s.search.list({ page_size: pageSize, page_token: token, filter });
        out.push(r.items);
        token = r.next_page_token;
      } while (token !== '' && out.length < 50);
      return out;
    };
    const all = await pages({ equals: { group: 'list' } }, 7);
    t.deepEqual(all.map((p) => p.length), [7, 7, 7, 4]);
    t.deepEqual(all.flat().map((i) => i.id), byBytes(items.map((i) => i.id)));
    t.deepEqual(all.flat().find((i) => i.id === 'list é'), { id: 'list é', found: true, uri: `u/${names.indexOf('é')}`, labels: { group: 'list', parity: names.indexOf('é') % 2 ? 'odd' : 'even' }, vector: null, predicted_class: '' });
    const odd = (await pages({ equals: { group: 'list', parity: 'odd' } }, 0)).flat();
    t.deepEqual(odd.map((i) => i.id), byBytes(items.filter((i) => i.labels.parity === 'odd').map((i) => i.id)));
    // A page as large as what is left ends with a token whose next page is empty.
    const exact = await pages({ equals: { group: 'list' } }, 25);
    t.deepEqual(exact.map((p) => p.length), [25, 0]);
    for (const token of ['not a token', 'bGlzdCBl=', Buffer.from('x'.repeat(300)).toString('base64url')]) {
      const e = await code(s.search.list({ page_token: token }));
      t.is(e.code, status.INVALID_ARGUMENT, token);
      t.regex(e.details, /next_page_token/);
    }
  });

  test(`${name}: SearchBatch answers each query, a bad one with its own error; DescribeIndex`, async (t) => {
    await s.search.upsert([{ id: 'batch-1', vector: { values: vector(7, s.dim) }, labels: { group: 'batch' } }]);
    const r = await s.search.searchBatch([{ vector: { values: vector(7, s.dim) }, k: 1, filter: { equals: { group: 'batch' } } }, { id: 'no-such-id', k: 1 }, { vector: { values: [1] }, k: 1 }]);
    t.is(r.results.length, 3);
    t.is(r.results[0]!.hits[0]!.id, 'batch-1');
    t.is(r.results[1]!.error!.code, status.NOT_FOUND);
    t.is(r.results[2]!.error!.code, status.INVALID_ARGUMENT);
    const d = await s.search.describe();
    t.true(d.count >= 1);
    t.is(d.dimension, s.dim);
    t.is(d.metric, 'euclidean');
    t.is(d.model!.version, s.server.info.model?.version ?? '');
    t.like(d, { served_model: { name: s.server.info.model!.name, version: s.server.info.model!.version }, matches_served_model: true });
    t.is(d.indexed + d.unindexed, d.count);
    t.false(/pw-in-the-query|password=(?!\*\*\*)/.test(d.location), `a password in ${d.location}`);
  });

  test(`${name}: every bad input gets its status and an actionable message, and nothing stored is lost`, async (t) => {
    const keep = { id: 'bad-keep', vector: { values: vector(3, s.dim) }, labels: { group: 'bad' } };
    await s.search.upsert([keep]);
    const v = { values: vector(4, s.dim) };
    const items = await s.search.upsert([
      { id: '', vector: v },
      { id: 'x'.repeat(257), vector: v },
      { id: 'bad-dim', vector: { values: [1, 2, 3] } },
      { id: 'bad-nan', vector: { values: [NaN, ...v.values.slice(1)] } },
      { id: 'bad-none' },
      { id: 'bad-image', image: Buffer.from('not an image') },
      { id: 'bad-label', vector: v, labels: { '': 'x' } },
      { id: 'bad-keep', vector: { values: [1] } },
      { id: 'bad\0nul', vector: v },
      { id: 'bad-nul-label', vector: v, labels: { group: 'a\0b' } },
      { id: 'bad-nul-uri', vector: v, uri: 'x\0y' },
    ]);
    t.deepEqual(items.map((r) => [r.ok, r.error?.code]), Array.from({ length: 11 }, () => [false, status.INVALID_ARGUMENT]));
    t.regex(items[9]!.error!.message, /NUL character/);
    t.regex(items[2]!.error!.message, /2?\d+ values?.*Embed/);
    const invalid = [
      s.search.search({ vector: v, k: 0 }),
      s.search.search({ vector: v, k: 1001 }),
      s.search.search({ k: 1 }),
      s.search.search({ vector: v, k: 1, filter: { one_of: { color: { values: [] } } } }),
      s.search.search({ vector: v, k: 1, filter: { equals: { '': 'x' } } }),
      s.search.search({ vector: v, k: 1, max_distance: -1 }),
      s.search.searchBatch(Array.from({ length: 257 }, () => ({ vector: v, k: 1 }))),
      s.search.get({ ids: [] }),
      s.search.delete(['']),
      s.search.search({ vector: v, k: 1, filter: { equals: { group: 'a\0' } } }),
    ];
    for (const e of await Promise.all(invalid.map(code))) t.is(e.code, status.INVALID_ARGUMENT, e.details);
    const missing = await code(s.search.search({ id: 'no-such-id', k: 1 }));
    t.is(missing.code, status.NOT_FOUND);
    t.regex(missing.details, /no-such-id/);
    t.deepEqual((await s.search.get({ ids: ['bad-keep'] })).items.map((i) => [i.id, i.found, i.vector!.values.length]), [['bad-keep', true, s.dim]]);
    t.deepEqual((await s.search.get({ ids: ['bad-dim', 'bad-none', 'bad-label', 'bad-nul-label', 'bad-nul-uri'], allow_missing: true })).items.map((i) => i.found), [false, false, false, false, false]);
  });

  test(`${name}: an empty index answers no hits; the index persists across a restart; another model's index is refused until emptied, then re-bound`, async (t) => {
    const location = await makeIndexLocation('restart');
    let server = await serve(location);
    let c = new SearchClient(server.address);
    t.deepEqual((await c.search({ vector: { values: vector(1, s.dim) }, k: 3 })).hits, []);
    t.is((await c.describe()).count, 0);
    await c.upsert([{ id: 'p-1', vector: { values: vector(1, s.dim) }, uri: 'u1', labels: { k: 'v' } }, { id: 'p-2', image: await png(3) }]);
    c.close();
    await server.shutdown('restart');
    server = await serve(location);
    c = new SearchClient(server.address);
    t.is((await c.describe()).count, 2);
    t.deepEqual((await c.search({ vector: { values: vector(1, s.dim) }, k: 1 })).hits.map((h) => [h.id, h.uri, h.labels]), [['p-1', 'u1', { k: 'v' }]]);
    c.close();
    await server.shutdown('other model next');
    // Another model: a tiny preset initialised and exported here.
    const dir = await tempDir('search-other-model');
    t.is((await cli('init', '--preset', 'tiny', '--classes', '3', '--out', dir)).code, 0);
    t.is((await cli('export', dir, '-o', `${dir}/other.onnx`)).code, 0);
    server = await serve(location, `${dir}/other.onnx`);
    c = new SearchClient(server.address);
    // It still says whose vectors it holds, and its items can be deleted; nothing else mixes them.
    t.like(await c.describe(), { count: 2, dimension: s.dim, served_model: { name: 'other', version: server.info.model!.version }, matches_served_model: false });
    const info = await cli('index', 'info', '--server', server.address);
    t.regex(info.out, /^served +other \(version \w+\): another model than the index's, so searches and adds are refused;\n +empty it \(alexnet index delete --all\)/m);
    const item = (await c.upsert([{ id: 'o', image: await png(1) }]))[0]!.error!;
    for (const e of [await code(c.search({ vector: { values: [1] }, k: 1 })), await code(c.get({ ids: ['p-1'] })), { code: item.code, details: item.message }]) {
      t.is(e.code, status.FAILED_PRECONDITION, e.details);
      t.regex(e.details, /--index.*'alexnet index delete --all'.*an empty index takes the served model's vectors/);
    }
    t.is((await c.describe()).count, 2, 'nothing was written or lost');
    // What to delete is listed.
    t.deepEqual((await c.list({})).items.map((i) => [i.id, i.uri]), [['p-1', 'u1'], ['p-2', '']]);
    // Emptied, it answers as empty, and the first upsert binds it to the model served now.
    t.is((await c.delete(['p-1', 'p-2'])).deleted, 2);
    t.deepEqual((await c.search({ vector: { values: [1] }, k: 1 })).hits, []);
    t.like((await c.upsert([{ id: 'o', image: await png(1) }]))[0], { ok: true });
    const other = await c.describe();
    t.like(other, { count: 1, dimension: server.info.embedding_dimension, matches_served_model: true });
    t.not(other.dimension, s.dim);
    t.is((await c.search({ image: await png(1), k: 1 })).hits[0]!.id, 'o');
    c.close();
    await server.shutdown('done');
  });
}
