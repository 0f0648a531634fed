/**
 * An index that cannot be used, against a real server and real clients: a LanceDB folder that
 * cannot be made (its path runs through a file: EACCES cannot be staged for root, ENOTDIR can) and
 * a PostgreSQL server that is not there. Each answers its cause with a status a client can act on,
 * ImageSearch's health follows the index (and comes back once it can be used), while Classify,
 * the server's health and /readyz stay the model's.
 */
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AlexNetClient } from '../../src/serve/client.js';
import { SearchClient } from '../../src/serve/search-client.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { MODEL, png, quiet } from '../serve-fixtures.js';
import { startServerProcess } from '../server-process.js';
import { healthClient, type HealthStub } from '../health-client.js';
import { tempDir } from '../temp-dir.js';

const SEARCH = 'alexnet.v1.ImageSearch';


const check = (h: HealthStub, service: string) => new Promise<string>((resolve, reject) => h.Check({ service }, (e, r) => (e ? reject(e) : resolve(r!.status))));

/** Resolves once the service's health is `want` (Watch sends the current status, then each change). */
function healthBecomes(h: HealthStub, service: string, want: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = h.Watch({ service });
    call.on('data', (r: { status: string }) => {
      if (r.status !== want) return;
      call.cancel();
      resolve();
    });
    call.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
  });
}

/** healthBecomes, or a rejection naming what was awaited after `ms`. */
const healthWithin = (h: HealthStub, service: string, want: string, ms: number) =>
  Promise.race([healthBecomes(h, service, want), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${service} not ${want} within ${ms} ms`)), ms))]);

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: { code: number; details: string }) => e,
  );

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function serving(index: string, t: import('ava').ExecutionContext) {
  const server = await startServer({ model: MODEL, index, port: 0, metricsPort: 0, device: 'cpu', maxDelayMs: 5, logger: quiet });
  const search = new SearchClient(server.address);
  const health = healthClient(server.address);
  t.teardown(async () => {
    search.close();
    health.close();
    await server.shutdown('test done');
  });
  return { server, search, health };
}

/** What does not depend on the index goes on: Classify, the server's health, /readyz. */
async function modelStillServes(t: import('ava').ExecutionContext, server: RunningServer, health: HealthStub) {
  const alexnet = new AlexNetClient(server.address);
  try {
    t.true((await alexnet.classify({ image: await png(2), top_k: 1 })).classes.length === 1);
  } finally {
    alexnet.close();
  }
  t.is(await check(health, ''), 'SERVING');
  t.is(await check(health, 'alexnet.v1.AlexNet'), 'SERVING');
  t.is((await fetch(`http://127.0.0.1:${server.metricsPort}/readyz`)).status, 200);
}

test('a folder that cannot be made: FAILED_PRECONDITION naming it and --index, ImageSearch NOT_SERVING until it can be, then it serves', async (t) => {
  const dir = await tempDir('unusable-index');
  const blocker = path.join(dir, 'a-file');
  await fs.writeFile(blocker, 'not a folder');
  const index = path.join(blocker, 'fm.index');
  const { server, search, health } = await serving(index, t);
  await healthBecomes(health, SEARCH, 'NOT_SERVING');
  for (const e of [await refusal(search.describe()), await refusal(search.search({ image: await png(1), k: 1 }))]) {
    t.is(e.code, grpc.status.FAILED_PRECONDITION, e.details);
    t.true(e.details.includes(`the index folder ${index} cannot be written`), e.details);
    t.regex(e.details, /pass --index DIR/);
  }
  const [upserted] = await search.upsert([{ id: 'a', image: await png(1) }]);
  t.is(upserted!.error?.code, grpc.status.FAILED_PRECONDITION);
  await modelStillServes(t, server, health);

  // The folder made possible: the next check sets ImageSearch SERVING, and the index works.
  await fs.rm(blocker);
  await fs.mkdir(blocker);
  await healthBecomes(health, SEARCH, 'SERVING');
  t.like((await search.upsert([{ id: 'a', image: await png(1) }]))[0], { ok: true });
  t.is((await search.search({ image: await png(1), k: 1 })).hits[0]!.id, 'a');
});

test('a database that cannot be reached: UNAVAILABLE naming it (never its password), ImageSearch NOT_SERVING, the model serving on', async (t) => {
  const location = `postgres://someone:s3cret-pw@127.0.0.1:${await closedPort()}/db`;
  const { server, search, health } = await serving(location, t);
  await healthBecomes(health, SEARCH, 'NOT_SERVING');
  const batch = await search.searchBatch([{ vector: { values: [1] }, k: 1 }]);
  for (const e of [await refusal(search.describe()), await refusal(search.get({ ids: ['x'] })), { code: batch.results[0]!.error!.code, details: batch.results[0]!.error!.message }]) {
    t.is(e.code, grpc.status.UNAVAILABLE, e.details);
    t.regex(e.details, /cannot reach the index database at postgres:\/\/someone:\*\*\*@127\.0\.0\.1:\d+\/db: .*ECONNREFUSED/);
    t.false(e.details.includes('s3cret-pw'));
  }
  await modelStillServes(t, server, health);
});

test('a second server on one index folder is refused (FAILED_PRECONDITION naming the first) instead of serving a stale copy; it takes the folder once the first stops', async (t) => {
  const index = await tempDir('search-two-servers');
  const first = await startServer({ model: MODEL, index, port: 0, device: 'cpu', logger: quiet });
  let second: RunningServer | undefined;
  const a = new SearchClient(first.address);
  try {
    t.is((await a.upsert([{ id: 'one', image: await png(1) }]))[0]!.ok, true);
    second = await startServer({ model: MODEL, index, port: 0, device: 'cpu', logger: quiet });
    const b = new SearchClient(second.address);
    const e = await refusal(b.describe());
    t.is(e.code, grpc.status.FAILED_PRECONDITION, e.details);
    t.regex(e.details, new RegExp(`the index folder ${index} is in use by process ${process.pid}.*One server per index folder`));
    t.is((await b.upsert([{ id: 'two', image: await png(2) }]))[0]!.error?.code, grpc.status.FAILED_PRECONDITION);
    t.is((await a.upsert([{ id: 'two', image: await png(2) }]))[0]!.ok, true);
    a.close();
    await first.shutdown('test');
    // Stopped, the first leaves the folder to the second, which sees every item the first stored.
    t.deepEqual((await b.get({ ids: ['one', 'two'] })).items.map((i) => i.found), [true, true]);
    b.close();
  } finally {
    a.close();
    await first.shutdown('test').catch(() => undefined);
    await second?.shutdown('test');
  }
});

test('an index folder held by another server process: ImageSearch NOT_SERVING from the start, SERVING once that process stops', async (t) => {
  const index = await tempDir('search-held-by-a-process');
  const first = await startServerProcess(['--model', MODEL, '--index', index, '--device', 'cpu']);
  t.teardown(() => void first.child.kill('SIGKILL'));
  const a = new SearchClient(first.address);
  t.like((await a.upsert([{ id: 'one', image: await png(1) }]))[0], { ok: true });
  a.close();
  const { server, search, health } = await serving(index, t);
  // Told at start (before any call), as a folder that cannot be written is, and after a refused call.
  await healthWithin(health, SEARCH, 'NOT_SERVING', 3_000);
  const e = await refusal(search.describe());
  t.is(e.code, grpc.status.FAILED_PRECONDITION, e.details);
  t.regex(e.details, new RegExp(`is in use by process ${first.child.pid}.*One server per index folder`));
  t.is(await check(health, SEARCH), 'NOT_SERVING');
  await modelStillServes(t, server, health);
  first.child.kill('SIGTERM');
  t.is((await first.done).code, 0);
  await healthWithin(health, SEARCH, 'SERVING', 15_000);
  t.deepEqual((await search.get({ ids: ['one'] })).items.map((i) => i.found), [true]);
});
