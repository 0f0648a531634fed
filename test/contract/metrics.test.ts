/**
 * What the server tells about its calls: /metrics counters and histograms moving by exactly what
 * the test sent (scraped over HTTP and read by a parser of the test's own), /healthz and /readyz,
 * request ids in the response metadata and the logs, a malformed body refused as INVALID_ARGUMENT,
 * and an overloaded server refusing before it decodes.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../../src/serve/client.js';
import { createLogger } from '../../src/serve/log.js';
import { kserveClientConstructor } from '../../src/serve/proto.js';
import { startServer } from '../../src/serve/server.js';
import { scrape, total, type Series } from '../prometheus-text.js';
import { MODEL, picture, png, raw, serveForTests } from '../serve-fixtures.js';

const lines: string[] = [];
const s = serveForTests({ metricsPort: 0, logger: createLogger('debug', (l) => lines.push(l)) });
const codeOf = (p: Promise<unknown>) => p.then(() => grpc.status.OK, (e: { code: number }) => e.code);

test.serial('counters and histograms move by exactly what was sent, labelled with the model and its version', async (t) => {
  const port = s.server.metricsPort!;
  const before = await scrape(port);
  const image = await png(5);
  const n = 7;
  for (let i = 0; i < n; i++) await s.client.classify({ image });
  await s.client.classify({ image, crop: 'CENTER' });
  for (let i = 0; i < 3; i++) t.is(await codeOf(s.client.classify({ image: Buffer.alloc(0) })), grpc.status.INVALID_ARGUMENT);
  const after = await scrape(port);
  const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
  const model = { model: 'fashion-mnist-mini', version: s.server.info.model!.version! };
  t.is(moved('alexnet_grpc_server_handled_total', { grpc_method: 'Classify', grpc_code: 'OK', ...model }), n + 1);
  t.is(moved('alexnet_grpc_server_handled_total', { grpc_method: 'Classify', grpc_code: 'INVALID_ARGUMENT', ...model }), 3);
  t.is(moved('alexnet_grpc_server_handling_seconds_count', { grpc_method: 'Classify' }), n + 4);
  t.is(moved('alexnet_grpc_server_handling_seconds_bucket', { grpc_method: 'Classify', le: '+Inf' }), n + 4);
  t.is(moved('alexnet_decode_seconds_count', model), n + 1, 'an empty image is refused before decoding');
  t.is(moved('alexnet_queue_seconds_count', model), n + 1);
  t.is(moved('alexnet_images_inferred_total', { ...model, mode: 'ten' }) + moved('alexnet_images_inferred_total', { ...model, mode: 'part' }), n);
  t.is(moved('alexnet_images_inferred_total', { ...model, mode: 'center' }), 1);
  t.is(moved('alexnet_crops_inferred_total', model), 10 * n + 1);
  t.is(moved('alexnet_batch_size_sum', { ...model, mode: 'center' }), 1);
  t.true(moved('alexnet_worker_busy_seconds_total', model) > 0);
  t.is(moved('alexnet_inference_seconds_count', model), moved('alexnet_batch_size_count', model));
  // Buckets are cumulative: every le holds at most the next one.
  const buckets = after.filter((x: Series) => x.name === 'alexnet_decode_seconds_bucket');
  for (let i = 1; i < buckets.length; i++) t.true(buckets[i]!.value >= buckets[i - 1]!.value);
  t.is(total(after, 'alexnet_model_info', model), 1);
  t.true(after.some((x) => x.name === 'alexnet_nodejs_eventloop_lag_p99_seconds'));
  t.is(total(after, 'alexnet_in_flight'), 0);
});

test.serial('/healthz and /readyz answer; other paths 404; other methods 405 with Allow', async (t) => {
  const base = `http://127.0.0.1:${s.server.metricsPort}`;
  t.is((await fetch(`${base}/healthz`)).status, 200);
  t.is((await fetch(`${base}/readyz`)).status, 200);
  t.is((await fetch(`${base}/nothing`)).status, 404);
  // RFC 9110: a 405 names the methods the resource takes.
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});

test.serial('a request id: the caller\'s comes back in the response metadata and the log line; one is made when none is sent', async (t) => {
  const idOf = (md?: grpc.Metadata) =>
    new Promise<string>((resolve, reject) => {
      const call = s.client.raw.Classify({ image: Buffer.alloc(0) }, md ?? new grpc.Metadata(), () => undefined);
      call.on('metadata', (m: grpc.Metadata) => resolve(String(m.get('x-request-id')[0] ?? '')));
      call.on('status', (st: grpc.StatusObject) => resolve(String(st.metadata.get('x-request-id')[0] ?? '')));
      call.on('error', () => undefined);
      setTimeout(() => reject(new Error('no metadata')), 5000);
    });
  const md = new grpc.Metadata();
  md.set('x-request-id', 'trace-me-42');
  t.is(await idOf(md), 'trace-me-42');
  t.true(lines.some((l) => JSON.parse(l)['x-request-id'] === 'trace-me-42'));
  t.regex(await idOf(), /^[0-9a-f-]{36}$/);
});

test.serial('a body that is not protobuf gets INVALID_ARGUMENT, not INTERNAL', async (t) => {
  const c = new grpc.Client(s.server.address, grpc.credentials.createInsecure());
  const e = await new Promise<grpc.ServiceError>((resolve) =>
    c.makeUnaryRequest('/alexnet.v1.AlexNet/Classify', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), (err) => resolve(err!)),
  );
  t.is(e.code, grpc.status.INVALID_ARGUMENT);
  t.regex(e.details, /not a valid \/alexnet\.v1\.AlexNet\/Classify message/);
  c.close();
});

test('overload: every refused call is refused before its image is decoded; only OK and RESOURCE_EXHAUSTED', async (t) => {
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', workers: 1, maxBatch: 1, maxDelayMs: 0, maxQueue: 2, metricsPort: 0, logger: createLogger('error', () => undefined) });
  const client = new AlexNetClient(server.address);
  try {
    const image = await raw(picture(6, 800, 600), 800, 600).jpeg().toBuffer();
    const codes = await Promise.all(Array.from({ length: 48 }, () => codeOf(client.classify({ image }))));
    const ok = codes.filter((c) => c === grpc.status.OK).length;
    const refused = codes.filter((c) => c === grpc.status.RESOURCE_EXHAUSTED).length;
    t.is(ok + refused, codes.length, `codes: ${[...new Set(codes)]}`);
    t.true(refused > 0, 'the queue never filled');
    const m = await scrape(server.metricsPort!);
    t.is(total(m, 'alexnet_decode_seconds_count'), ok, 'decodes = answered calls');
    t.is(total(m, 'alexnet_grpc_server_handled_total', { grpc_code: 'RESOURCE_EXHAUSTED' }), refused);
    t.is(server.engine.queued, 0);
  } finally {
    client.close();
    await server.shutdown('test done');
  }
});

(process.platform === 'linux' ? test : test.skip)('the inference workers run at nice 10 (the default), the main thread at 0: read from /proc (Linux only: skipped elsewhere)', async (t) => {
  const tasks = await fs.readdir('/proc/self/task');
  const nice = await Promise.all(tasks.map(async (tid) => Number((await fs.readFile(`/proc/self/task/${tid}/stat`, 'utf8')).split(') ').pop()!.split(' ')[16])));
  t.true(nice.filter((n) => n === 10).length >= s.server.engine.workers, `nice values: ${nice.join(' ')}`);
  t.is(nice[tasks.indexOf(String(process.pid))], 0, 'the main thread');
});

test('streams the client cancels, or whose deadline passes, are counted CANCELLED and DEADLINE_EXCEEDED, as the client saw them', async (t) => {
  // Batches of 2 that wait up to 10 s to fill: a lone image stays queued, a pair is answered at once.
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', workers: 1, maxBatch: 2, maxDelayMs: 10_000, metricsPort: 0, logger: createLogger('error', () => undefined) });
  const Ctor = kserveClientConstructor();
  const client = new Ctor(server.address, grpc.credentials.createInsecure());
  const image = await png(2);
  const request = (n: number) => ({ model_name: 'fashion-mnist-mini', inputs: [{ name: 'images', datatype: 'BYTES', shape: [n], contents: { bytes_contents: Array.from({ length: n }, () => image) } }] });
  const idle = async () => {
    while (server.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  };
  /** One stream: `n` images sent, then `end` with it; resolves with the status code the client saw. */
  const stream = (n: number, end: (s: grpc.ClientDuplexStream<object, object>) => Promise<void>, options: grpc.CallOptions = {}) => {
    const s = client.ModelStreamInfer(options);
    const code = new Promise<number>((resolve) => {
      s.on('status', (st: grpc.StatusObject) => resolve(st.code));
      s.on('error', (e: grpc.ServiceError) => resolve(e.code));
      s.on('data', () => undefined);
    });
    s.write(request(n));
    return end(s).then(() => code);
  };
  /**
   * A stream whose grpc-timeout header only the server enforces, sent with Node's own HTTP/2 client
   * (a gRPC client also cancels at its deadline, racing the server's timer); resolves with grpc-status.
   */
  const deadlineStream = () =>
    new Promise<number>((resolve, reject) => {
      const session = http2.connect(`http://${server.address}`);
      session.on('error', reject);
      const body = Ctor.service.ModelStreamInfer!.requestSerialize(request(1));
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      const s = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelStreamInfer', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '500m' });
      const done = (headers: http2.IncomingHttpHeaders) => {
        if (headers['grpc-status'] === undefined) return;
        resolve(Number(headers['grpc-status']));
        session.close();
      };
      s.on('response', done);
      s.on('trailers', done);
      s.on('error', reject);
      s.resume();
      s.write(Buffer.concat([prefix, body]));
    });
  try {
    const seen = [
      // Cancelled while its image waits in the queue.
      await stream(1, async (s) => {
        while (server.engine.queued === 0) await new Promise((r) => setTimeout(r, 5));
        s.cancel();
      }),
      // Cancelled after its answer came, the stream left open.
      await stream(2, async (s) => {
        await new Promise((r) => s.once('data', r));
        s.cancel();
      }),
      // Its deadline passes while its image waits in the queue (a client that leaves the deadline to the server).
      await deadlineStream(),
      // Ended by the client after its answer: OK.
      await stream(2, async (s) => {
        await new Promise((r) => s.once('data', r));
        s.end();
      }),
    ];
    // A message over the size limit is refused by grpc-js itself, with a status no interceptor sees: not a cancel.
    const big = new Ctor(server.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
    const tooLarge = { model_name: 'fashion-mnist-mini', inputs: [{ name: 'images', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.alloc(17 * 1024 * 1024)] } }] };
    t.is(await new Promise<number>((resolve) => big.ModelInfer(tooLarge, (e: grpc.ServiceError | null) => resolve(e?.code ?? grpc.status.OK))), grpc.status.RESOURCE_EXHAUSTED);
    big.close();
    await idle();
    t.deepEqual(seen.map((c) => grpc.status[c]), ['CANCELLED', 'CANCELLED', 'DEADLINE_EXCEEDED', 'OK']);
    const m = await scrape(server.metricsPort!);
    const counted = Object.fromEntries(['CANCELLED', 'DEADLINE_EXCEEDED', 'OK'].map((code) => [code, total(m, 'alexnet_grpc_server_handled_total', { grpc_method: 'ModelStreamInfer', grpc_code: code })]));
    t.deepEqual(counted, { CANCELLED: 2, DEADLINE_EXCEEDED: 1, OK: 1 });
    t.is(total(m, 'alexnet_grpc_server_handled_total', { grpc_method: 'ModelInfer', grpc_code: 'CANCELLED' }), 0);
    t.is(total(m, 'alexnet_grpc_server_handling_seconds_count', { grpc_method: 'ModelStreamInfer' }), 4);
    t.is(total(m, 'alexnet_in_flight'), 0);
  } finally {
    client.close();
    await server.shutdown('test done');
  }
});
