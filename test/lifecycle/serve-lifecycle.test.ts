/**
 * Lifecycle tier of the server: health while the model loads, deadlines, cancellation and a full
 * queue, SIGTERM under load and SIGTERM past the grace with a stream still busy (the CLI as a child
 * process), a port already in use.
 */
import test from 'ava';
import { getEventListeners, once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { AlexNetClient } from '../../src/serve/client.js';
import { startServer } from '../../src/serve/server.js';
import { byIndex, CLI, maxDiff, MODEL, png, quiet, serveForTests } from '../serve-fixtures.js';
import { startServerProcess } from '../server-process.js';

const statusesSeen: string[] = [];
let watching: Promise<void> = Promise.resolve();
const served = serveForTests(
  {
    onListening: (port) => {
      // Watch health from the moment the port is bound, while the model is still loading.
      const Health = grpc.loadPackageDefinition(protoLoader.loadSync(fileURLToPath(new URL('../../../node_modules/grpc-health-check/proto/health/v1/health.proto', import.meta.url)), { enums: String })) as any;
      const h = new Health.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const watch = h.Watch({ service: 'alexnet.v1.AlexNet' });
      watching = new Promise((resolve) => {
        watch.on('data', (m: { status: string }) => {
          statusesSeen.push(m.status);
          if (m.status === 'SERVING') {
            watch.cancel();
            resolve();
          }
        });
        watch.on('error', () => resolve());
      });
    },
  },
  () => watching,
);

test('health goes NOT_SERVING -> SERVING, and the model info describes the served model', async (t) => {
  t.is(statusesSeen[0], 'NOT_SERVING');
  t.is(statusesSeen.at(-1), 'SERVING');
  const info = await served.client.modelInfo();
  t.deepEqual(info.labels, served.meta.labels);
  t.is(info.preset, served.meta.preset);
  t.is(info.base_size, served.meta.baseSize);
  t.is(info.execution_provider, 'cpu');
  t.is(info.model!.version, served.meta.checkpointSha256.slice(0, 12));
});

test('an expired deadline and a cancelled call never reach the model; a full queue refuses at once', async (t) => {
  // Batches wait up to 400 ms to fill, so a call sits in the queue long enough to expire or be cancelled.
  const slow = await startServer({ model: MODEL, port: 0, device: 'cpu', maxBatch: 64, maxDelayMs: 400, maxQueue: 4, logger: quiet });
  const c = new AlexNetClient(slow.address);
  try {
    const image = await png(7);
    const inferred = slow.engine.stats.inferred;
    const expired = await c.classify({ image }, { timeoutMs: 60 }).catch((e: grpc.ServiceError) => e);
    t.is((expired as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 60);
    const cancelled = await c.classify({ image }, { signal: abort.signal }).catch((e: grpc.ServiceError) => e);
    t.is((cancelled as grpc.ServiceError).code, grpc.status.CANCELLED);
    await new Promise((r) => setTimeout(r, 500)); // past the batching delay: had they stayed queued, they would have run
    t.is(slow.engine.stats.inferred, inferred, 'no image of those calls reached the model');
    t.is(slow.engine.queued, 0);
    // Queue of 4: of 12 concurrent calls, the first 4 wait, the rest are refused at once.
    const results = await Promise.all(Array.from({ length: 12 }, () => c.classify({ image }).then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code])));
    t.is(results.filter((r) => r === 'OK').length, 4, results.join());
    t.is(results.filter((r) => r === 'RESOURCE_EXHAUSTED').length, 8, results.join());
  } finally {
    c.close();
    await slow.shutdown();
  }
});

test('a signal already aborted cancels the call; one signal shared by many calls keeps no listener of those that ended', async (t) => {
  const image = await png(8);
  const before = new AbortController();
  before.abort();
  const early = await served.client.classify({ image }, { signal: before.signal }).then(
    () => 'answered',
    (e: grpc.ServiceError) => grpc.status[e.code],
  );
  t.is(early, 'CANCELLED');
  // One app-wide signal (as for shutdown) passed to every call: Node's own registry of its listeners.
  const shared = new AbortController();
  for (let i = 0; i < 20; i++) await served.client.classify({ image, crop: 'CENTER' }, { signal: shared.signal });
  t.is(getEventListeners(shared.signal, 'abort').length, 0);
  const pending = served.client.classify({ image }, { signal: shared.signal }).catch((e: grpc.ServiceError) => e);
  shared.abort();
  t.is(((await pending) as grpc.ServiceError).code, grpc.status.CANCELLED, 'the shared signal still cancels a call in flight');
});

test('SIGTERM under load: every accepted call is answered right, later ones get UNAVAILABLE, exit 0', async (t) => {
  // Batches wait 300 ms to fill (max batch 64 > 8 callers), and the server logs its calls in flight
  // every 10 ms: SIGTERM goes when the server itself says calls are waiting, whatever this machine's speed.
  const args = ['serve', '--model', MODEL, '--port', '0', '--device', 'cpu', '--max-batch', '64', '--max-delay-ms', '300', '--stats-interval-ms', '10'];
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let busy: (() => void) | undefined;
  const address = await new Promise<string>((resolve, reject) => {
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"msg":"serving","address":"([^"]+)"/.exec(log);
      if (m) resolve(m[1]!);
      if (busy && /"msg":"stats".*"inFlight":[1-9]/.test(d.toString())) busy();
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${log}`)));
  });
  const c = new AlexNetClient(address);
  await c.modelInfo(); // connected before the load starts
  const image = await png(8);
  const expected = (await served.offline(image)).p;
  const n = served.meta.labels.length;
  const fire = () =>
    c.classify({ image, top_k: n }).then(
      (r) => (maxDiff(byIndex(r.classes, n), expected) <= 1e-6 ? 'OK' : 'WRONG'),
      (e: grpc.ServiceError) => grpc.status[e.code] ?? String(e.code),
    );
  // A closed loop of 8 callers: each fires again as soon as it is answered, until it is refused.
  const results: string[] = [];
  const caller = async () => {
    for (;;) {
      const r = await fire();
      results.push(r);
      if (r !== 'OK' || results.length > 5000) return;
    }
  };
  const loaded = new Promise<void>((r) => (busy = r));
  const callers = Array.from({ length: 8 }, caller);
  await Promise.race([loaded, Promise.all(callers)]);
  const beforeTerm = results.length;
  proc.kill('SIGTERM');
  const exit = once(proc, 'exit');
  await Promise.all(callers);
  const [code] = (await exit) as [number];
  c.close();
  t.is(code, 0, log);
  // Every call is answered right or refused; none is lost, cut off or wrong.
  t.true(results.every((r) => r === 'OK' || r === 'UNAVAILABLE'), results.join());
  // The calls in flight when SIGTERM came (the server logs how many) all finished.
  const inFlight = Number(/"msg":"shutting down","reason":"SIGTERM","inFlight":(\d+)/.exec(log)?.[1]);
  t.true(inFlight > 0, `the server was under load when SIGTERM came (${inFlight} in flight)`);
  t.true(results.slice(beforeTerm).filter((r) => r === 'OK').length >= inFlight, results.join());
  t.true(results.includes('UNAVAILABLE'), 'calls after SIGTERM were refused');
  // The stats lines (--stats-interval-ms) carry the figures bench:serve reads: with calls in flight, CPU was used (decoding).
  const stats = log.split('\n').filter((l) => l.includes('"msg":"stats"')).map((l) => JSON.parse(l) as Record<string, number | null>);
  const busyLine = stats.find((s) => (s.inFlight ?? 0) > 0);
  t.truthy(busyLine, log);
  t.true(busyLine!.cpuCores! > 0 && typeof busyLine!.inferred === 'number' && typeof busyLine!.batches === 'number' && typeof busyLine!.queued === 'number', JSON.stringify(busyLine));
});

test('SIGTERM past the grace with a stream still busy: the batches running finish, the server logs "stopped" and exits 0', async (t) => {
  // The stream never ends, so the grace (1 s) runs out with it in flight and batches still running
  // when the sessions are closed. Ending a worker in the middle of a run once aborted the whole
  // process (exit 134, "terminate called after throwing an instance of 'Napi::Error'").
  const server = await startServerProcess(['--model', MODEL, '--device', 'cpu', '--grace', '1']);
  const c = new AlexNetClient(server.address);
  const image = await png(9);
  const n = served.meta.labels.length;
  const expected = (await served.offline(image)).p;
  const call = c.stream('ClassifyStream');
  const replies: { error: unknown; classes: { index: number; probability: number }[] }[] = [];
  let answered!: () => void;
  const first = new Promise<void>((r) => (answered = r));
  call.on('data', (r) => (replies.push(r), answered()));
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on('error', resolve);
    call.on('end', () => resolve(undefined));
  });
  let open = true;
  void ended.then(() => (open = false));
  // Written as fast as the stream takes them (the server pauses it at its window), until it is cut off.
  void (async () => {
    while (open) {
      if (!call.write({ image, top_k: n } as never)) await Promise.race([once(call, 'drain'), ended]);
    }
  })();
  await first; // the server is answering the stream
  server.child.kill('SIGTERM');
  const exit = await server.done;
  const error = await ended;
  c.close();
  t.is(exit.code, 0, exit.stderr.slice(-2000));
  t.notRegex(exit.stderr, /terminate called/);
  t.is(server.log.count((l) => l.msg === 'grace period over: closing with calls in flight'), 1, 'the grace ran out with the stream in flight');
  const closing = server.log.lines.find((l) => l.msg === 'closing the model');
  t.true((closing?.batchesRunning as number) > 0, `batches were running when the model was closed: ${JSON.stringify(closing)}`);
  t.is(server.log.count((l) => l.msg === 'stopped'), 1, exit.stderr.slice(-2000));
  // The stream was cut off, not ended; what it answered before is right.
  t.truthy(error, 'the stream ended with an error');
  t.true(replies.length > 0 && replies.every((r) => r.error === null && maxDiff(byIndex(r.classes, n), expected) <= 1e-6));
});

test('a port already in use is refused with a message saying so', async (t) => {
  await t.throwsAsync(startServer({ model: MODEL, port: served.server.port, device: 'cpu', logger: quiet }), {
    name: 'ConfigError',
    message: new RegExp(`cannot listen on 127\\.0\\.0\\.1:${served.server.port}: the port is already in use`),
  });
});

// IPv6 loopback: where this machine has none, the test is skipped saying so (probed in a child, synchronously).
const ipv6Probe = spawnSync(process.execPath, ['-e', "require('net').createServer().on('error', () => process.exit(1)).listen(0, '::1', function () { this.close(); })"]);
const noIpv6 = ipv6Probe.status === 0 ? undefined : 'no IPv6 loopback here';
(noIpv6 ? test.skip : test)(`a server on ::1 gives its address as [::1]:port, which a client reaches${noIpv6 ? ` [skipped: ${noIpv6}]` : ''}`, async (t) => {
  const s = await startServer({ model: MODEL, host: '::1', port: 0, device: 'cpu', logger: quiet });
  const client = new AlexNetClient(s.address);
  try {
    t.regex(s.address, /^\[::1\]:\d+$/);
    t.is((await client.modelInfo()).model!.name, 'fashion-mnist-mini');
  } finally {
    client.close();
    await s.shutdown('test done');
  }
});

test('a stream takes a deadline and a signal as a call does; an image may be any Uint8Array', async (t) => {
  const image = await png(9);
  const statusOf = (call: NodeJS.EventEmitter) =>
    Promise.race([
      new Promise<string>((resolve) => {
        call.on('error', () => undefined);
        call.on('data', () => undefined);
        call.on('status', (s: grpc.StatusObject) => resolve(grpc.status[s.code]!));
      }),
      new Promise<string>((resolve) => setTimeout(() => resolve('no status after 30 s'), 30_000).unref()),
    ]);
  // Left open by the client: only the deadline ends it.
  const open = served.client.stream('EmbedStream', { timeoutMs: 300 });
  open.write({ image, crop: 'CENTER' });
  t.is(await statusOf(open), 'DEADLINE_EXCEEDED');
  const aborted = new AbortController();
  aborted.abort();
  t.is(await statusOf(served.client.stream('EmbedStream', { signal: aborted.signal })), 'CANCELLED');
  const shared = new AbortController();
  const later = served.client.stream('EmbedStream', { signal: shared.signal });
  const laterStatus = statusOf(later);
  later.write({ image, crop: 'CENTER' });
  later.end();
  t.is(await laterStatus, 'OK');
  t.is(getEventListeners(shared.signal, 'abort').length, 0, 'no listener outlives its stream');
  const cut = served.client.stream('EmbedStream', { signal: shared.signal });
  const cutStatus = statusOf(cut);
  shared.abort();
  t.is(await cutStatus, 'CANCELLED');
  // A Uint8Array that is not a Buffer (a browser-style or worker-transferred array) is sent as the same bytes.
  const plain = new Uint8Array(image.byteLength);
  plain.set(image);
  const [a, b] = await Promise.all([served.client.classify({ image: plain, top_k: 3 }), served.client.classify({ image, top_k: 3 })]);
  t.deepEqual(a.classes, b.classes);
});

test("the workers' time counts the calls' batches only, not the warm-up (the stats line's workerMs, KServe's compute_infer)", async (t) => {
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', workers: 1, logger: quiet });
  const client = new AlexNetClient(server.address);
  try {
    // Warm: every worker has run a batch in each crop mode, and no call has come.
    t.like(server.engine.stats, { inferred: 0, batches: 0, workerMs: 0 });
    await client.classify({ image: await png(4), crop: 'CENTER' });
    t.is(server.engine.stats.batches, 1);
    t.true(server.engine.stats.workerMs > 0);
  } finally {
    client.close();
    await server.shutdown();
  }
});
