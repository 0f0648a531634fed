/**
 * A stream whose client stops reading its answers: the server stops taking its requests once the answers it
 * cannot send fill the HTTP/2 window and its stream's buffer, instead of embedding every request
 * and keeping all the answers in memory. Oracle: the engine's own count of images inferred while
 * the client reads nothing, against the count of requests the client sent; then every answer,
 * in request order, once it reads.
 */
import test from 'ava';
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../../src/serve/client.js';
import type { EmbedResponse__Output } from '../../src/serve/generated/alexnet/v1/EmbedResponse.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { MODEL, png, quiet } from '../serve-fixtures.js';

const REQUESTS = 1500;

/** Resolves once the engine has nothing queued or running and its count stayed the same over several looks. */
async function settled(server: RunningServer): Promise<number> {
  let last = -1;
  let same = 0;
  while (same < 10) {
    await new Promise((r) => setTimeout(r, 100));
    const n = server.engine.stats.inferred;
    same = n === last && server.engine.queued === 0 && server.engine.running === 0 ? same + 1 : 0;
    last = n;
  }
  return last;
}

async function writeAll(call: grpc.ClientDuplexStream<unknown, unknown>, requests: object[]): Promise<void> {
  for (const r of requests) if (!call.write(r)) await once(call, 'drain');
  call.end();
}

test('a client that stops reading answers holds the server to a window of its stream, then gets every answer in order', async (t) => {
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', logger: quiet });
  const client = new AlexNetClient(server.address);
  try {
    const image = await png(11);
    const before = server.engine.stats.inferred;
    const call = client.stream('EmbedStream');
    const requests = Array.from({ length: REQUESTS }, (_, k) => ({ image, crop: 'CENTER', request_id: `r${k}` }));
    const errors: unknown[] = [];
    call.on('error', (e) => errors.push(e));
    const answers: EmbedResponse__Output[] = [];
    // The client reads the first answer, then stops reading (grpc-js takes in every answer of a call never read at all).
    call.on('data', (r: EmbedResponse__Output) => {
      answers.push(r);
      if (answers.length === 1) call.pause();
    });
    const writing = writeAll(call as grpc.ClientDuplexStream<unknown, unknown>, requests);
    const inferredUnread = (await settled(server)) - before;
    t.deepEqual(errors, [], 'the stream goes on');
    t.true(inferredUnread < REQUESTS / 3, `${inferredUnread} of ${REQUESTS} images inferred while the client had read ${answers.length} answer`);

    call.resume();
    await Promise.all([writing, once(call, 'end')]);
    t.deepEqual(
      answers.map((a) => a.request_id),
      requests.map((r) => r.request_id),
    );
    t.true(answers.every((a) => a.error === null && a.embedding!.vector.length === a.embedding!.dimension && a.embedding!.dimension > 0));
    t.is(server.engine.stats.inferred - before, REQUESTS);
  } finally {
    client.close();
    await server.shutdown('test done');
  }
});
