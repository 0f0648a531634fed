/**
 * Contract tier, alone in its own test file (so its own process): a pixel bomb is refused without
 * being decoded. The RSS check measures this process while nothing else in it allocates: the
 * server is started and warm before the figure is read, and this file has no other test.
 */
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../src/serve/client.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { failure, MODEL, pngHeader, quiet } from './serve-fixtures.js';

let server: RunningServer;
let client: AlexNetClient;

test.before(async () => {
  server = await startServer({ model: MODEL, port: 0, device: 'cpu', logger: quiet });
  client = new AlexNetClient(server.address);
  await client.modelInfo(); // connected before the figure is read
});

test.after.always(async () => {
  client?.close();
  await server?.shutdown('tests done');
});

test('a 30000x30000 PNG header is refused with RESOURCE_EXHAUSTED without being decoded', async (t) => {
  const before = process.memoryUsage().rss;
  const e = await failure(client, pngHeader(30000, 30000));
  t.is(e.code, grpc.status.RESOURCE_EXHAUSTED, e.details);
  t.regex(e.details, /30000x30000/);
  // Decoding it would need 2.7 GB.
  t.true(process.memoryUsage().rss - before < 200e6);
});
