/**
 * Lifecycle tier of inference.GRPCInferenceService: ServerLive, ServerReady and ModelReady while
 * the model loads, while serving and while draining; RepositoryModelLoad swapping versions of a
 * model repository (grpc-js with the proto's generated client; the calls' contents are checked by
 * a client we did not write in contract/kserve.test.ts).
 */
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { kserveClientConstructor } from '../../src/serve/proto.js';
import { startServer } from '../../src/serve/server.js';
import { makeExports, publish } from '../reload-fixtures.js';
import { MODEL, png, quiet } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';

type Client = InstanceType<ReturnType<typeof kserveClientConstructor>>;

const unary = <T>(f: (done: (e: grpc.ServiceError | null, r?: T) => void) => void) => new Promise<T>((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r!))));

/** [live, server ready, model ready] as the server answers them now. */
async function probe(c: Client, model: string): Promise<[boolean, boolean, boolean]> {
  const [live, ready, modelReady] = await Promise.all([
    unary<{ live: boolean }>((d) => c.ServerLive({}, d)),
    unary<{ ready: boolean }>((d) => c.ServerReady({}, d)),
    unary<{ ready: boolean }>((d) => c.ModelReady({ name: model }, d)),
  ]);
  return [live.live, ready.ready, modelReady.ready];
}

test('live from the bound port on; ready only once the model is warm and until shutdown begins', async (t) => {
  const Ctor = kserveClientConstructor();
  let client: Client | undefined;
  let whileLoading: Promise<[boolean, boolean, boolean]> | undefined;
  // Batches wait 2 s to fill (max batch 64): a lone ModelInfer call is still in flight when shutdown begins.
  const server = await startServer({
    model: MODEL,
    port: 0,
    device: 'cpu',
    maxBatch: 64,
    maxDelayMs: 2000,
    logger: quiet,
    onListening: (port) => {
      client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      whileLoading = probe(client, 'fashion-mnist-mini');
    },
  });
  try {
    const model = server.info.model!.name!;
    t.is(model, 'fashion-mnist-mini');
    t.deepEqual(await whileLoading, [true, false, false], 'while the model loads');
    t.deepEqual(await probe(client!, model), [true, true, true], 'serving');
    const image = await png(3);
    const inFlight = unary<{ model_version: string }>((d) =>
      client!.ModelInfer({ model_name: model, inputs: [{ name: 'images', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [image] } }] }, d),
    );
    while (server.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const stopping = server.shutdown('test');
    t.deepEqual(await probe(client!, model), [true, false, false], 'draining');
    t.is((await inFlight).model_version, server.info.model!.version!, 'the call in flight is answered');
    await stopping;
  } finally {
    client?.close();
    await server.shutdown();
  }
});

test('RepositoryModelLoad serves a newly published version; a broken one is refused and the old version serves on', async (t) => {
  const dir = await tempDir('kserve-load');
  const exports = await makeExports(dir);
  const repo = `${dir}/repo`;
  await publish(repo, 'tiny', 1, exports.a);
  const server = await startServer({ modelDir: repo, port: 0, device: 'cpu', logger: quiet });
  const client = new (kserveClientConstructor())(server.address, grpc.credentials.createInsecure());
  const image = await png(4);
  const infer = (version = '') =>
    unary<{ model_version: string; outputs: { shape: number[] }[] }>((d) => client.ModelInfer({ model_name: 'tiny', model_version: version, inputs: [{ name: 'images', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [image] } }] }, d));
  const load = () => unary((d) => client.RepositoryModelLoad({ model_name: 'tiny' }, d)).then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code]);
  try {
    t.is((await infer()).model_version, '1');
    await publish(repo, 'tiny', 2, exports.b);
    t.is(await load(), 'OK');
    t.is((await infer()).model_version, '2');
    t.is((await infer('2')).model_version, '2');
    t.is(await infer('1').then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code]), 'NOT_FOUND', 'the version no longer serving');
    await publish(repo, 'tiny', 3, exports.corrupt);
    t.is(await load(), 'FAILED_PRECONDITION');
    t.is((await infer()).model_version, '2', 'the old version serves on');
    t.is(await unary((d) => client.RepositoryModelLoad({ model_name: 'other' }, d)).then(() => 'OK', (e: grpc.ServiceError) => grpc.status[e.code]), 'NOT_FOUND');
  } finally {
    client.close();
    await server.shutdown();
  }
});

test('a ModelInfer of more images than --max-queue is INVALID_ARGUMENT saying the limit (it could never be taken); as many as the queue holds are answered', async (t) => {
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', maxQueue: 3, logger: quiet });
  const client = new (kserveClientConstructor())(server.address, grpc.credentials.createInsecure());
  try {
    const image = await png(4);
    const infer = (n: number) =>
      unary<{ outputs: { shape: number[] }[] }>((d) => client.ModelInfer({ model_name: 'fashion-mnist-mini', inputs: [{ name: 'images', datatype: 'BYTES', shape: [n], contents: { bytes_contents: Array.from({ length: n }, () => image) } }] }, d));
    const refused = await infer(4).then(() => undefined, (e: grpc.ServiceError) => e);
    t.is(refused?.code, grpc.status.INVALID_ARGUMENT);
    t.regex(refused?.details ?? '', /4 images in one request, more than this server's queue of 3 \(--max-queue\): send at most 3/);
    t.is((await infer(3)).outputs[0]!.shape[0], 3);
  } finally {
    client.close();
    await server.shutdown('test done');
  }
});

test('a ModelInfer and a ModelStreamInfer in flight across a reload are counted in the metrics under the version that answered them', async (t) => {
  const { scrape, total } = await import('../prometheus-text.js');
  const dir = await tempDir('kserve-reload-metrics');
  const exports = await makeExports(dir);
  const repo = `${dir}/repo`;
  await publish(repo, 'tiny', 1, exports.a);
  // A lone image waits up to 3 s for others to fill its batch: the reload happens meanwhile.
  const server = await startServer({ modelDir: repo, port: 0, metricsPort: 0, device: 'cpu', workers: 1, threads: 1, maxBatch: 4, maxDelayMs: 3000, logger: quiet });
  const client = new (kserveClientConstructor())(server.address, grpc.credentials.createInsecure());
  try {
    const image = await png(3);
    const request = { model_name: 'tiny', inputs: [{ name: 'images', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [image] } }] };
    const unaryCall = unary<{ model_version: string }>((d) => client.ModelInfer(request, d));
    const stream = client.ModelStreamInfer();
    const streamed = new Promise<{ error_message: string; infer_response: { model_version: string } }[]>((resolve, reject) => {
      const answers: { error_message: string; infer_response: { model_version: string } }[] = [];
      stream.on('data', (a) => answers.push(a));
      stream.on('end', () => resolve(answers));
      stream.on('error', reject);
    });
    stream.write(request);
    stream.end();
    while (server.inFlight < 2) await new Promise((r) => setTimeout(r, 5));
    await publish(repo, 'tiny', 2, exports.b);
    t.like(await server.reload('test'), { status: 'loaded', to: '2' });
    t.is((await unaryCall).model_version, '1', 'the call was answered by the version it was queued on');
    const answers = await streamed;
    t.deepEqual(answers.map((a) => [a.error_message, a.infer_response.model_version]), [['', '1']]);
    // A failed stream item echoes the caller's model_version: it must not become a label.
    const refused = client.ModelStreamInfer();
    const refusedDone = new Promise((resolve) => refused.on('end', resolve).on('error', resolve).on('data', () => undefined));
    refused.write({ ...request, model_version: 'no-such-version' });
    refused.end();
    await refusedDone;
    const m = await scrape(server.metricsPort!);
    const handled = (method: string, version: string) => total(m, 'alexnet_grpc_server_handled_total', { grpc_method: method, version });
    t.deepEqual([handled('ModelInfer', '1'), handled('ModelInfer', '2')], [1, 0]);
    t.deepEqual([handled('ModelStreamInfer', '1'), handled('ModelStreamInfer', '2'), handled('ModelStreamInfer', 'no-such-version')], [1, 1, 0]);
  } finally {
    client.close();
    await server.shutdown();
  }
});

test('a ModelStreamInfer opened while the model loads, or while the server drains, is answered UNAVAILABLE at once (it was left without a status)', async (t) => {
  const Ctor = kserveClientConstructor();
  let client: Client | undefined;
  /** The status a new stream gets; the deadline only keeps a stream left without one from hanging the test. */
  const streamStatus = () =>
    new Promise<string>((resolve) => {
      const s = client!.ModelStreamInfer({ deadline: Date.now() + 60_000 });
      s.on('error', (e: grpc.ServiceError) => resolve(`${grpc.status[e.code]}: ${e.details}`));
      s.on('data', () => undefined);
      s.on('end', () => resolve('ended without an error'));
      s.write({ model_name: 'fashion-mnist-mini' });
    });
  let whileLoading: Promise<string> | undefined;
  // Batches wait 2 s to fill (max batch 64): a lone ModelInfer call is still in flight while the server drains.
  const server = await startServer({
    model: MODEL,
    port: 0,
    device: 'cpu',
    maxBatch: 64,
    maxDelayMs: 2000,
    logger: quiet,
    onListening: (port) => {
      client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      whileLoading = streamStatus();
    },
  });
  try {
    t.is(await whileLoading, 'UNAVAILABLE: the model is still loading');
    const image = await png(3);
    const inFlight = unary<{ model_version: string }>((d) =>
      client!.ModelInfer({ model_name: 'fashion-mnist-mini', inputs: [{ name: 'images', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [image] } }] }, d),
    );
    while (server.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const stopping = server.shutdown('test');
    t.is(await streamStatus(), 'UNAVAILABLE: the server is shutting down');
    t.is((await inFlight).model_version, server.info.model!.version!, 'the call in flight is answered');
    await stopping;
  } finally {
    client?.close();
    await server.shutdown();
  }
});
