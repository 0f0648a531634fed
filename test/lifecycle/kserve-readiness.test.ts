/**
 * Lifecycle tier of inference.GRPCInferenceService: ServerLive, ServerReady and ModelReady while
 * the model loads, while serving and while draining (grpc-js with the proto's generated client;
 * the calls' contents are checked by a client we did not write in contract/kserve.test.ts).
 */
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { kserveClientConstructor } from '../../src/serve/proto.js';
import { startServer } from '../../src/serve/server.js';
import { MODEL, png, quiet } from '../serve-fixtures.js';

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
