/**
 * Contract tier, alone in its own test file (so its own process): a pixel bomb is refused without
 * being decoded. The RSS check measures this process while nothing else in it allocates: the
 * server is started and warm before the figure is read, and this file has no other test.
 */
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { failure, pngHeader, serveForTests } from '../serve-fixtures.js';

// Connected before the figure is read.
const served = serveForTests({}, ({ client }) => client.modelInfo());

test('a 30000x30000 PNG header is refused with RESOURCE_EXHAUSTED without being decoded', async (t) => {
  const before = process.memoryUsage().rss;
  const e = await failure(served.client, pngHeader(30000, 30000));
  t.is(e.code, grpc.status.RESOURCE_EXHAUSTED, e.details);
  t.regex(e.details, /30000x30000/);
  // Decoding it would need 2.7 GB.
  t.true(process.memoryUsage().rss - before < 200e6);
});
