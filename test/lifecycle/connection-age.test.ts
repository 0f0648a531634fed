/**
 * `serve --max-connection-age`: a client's connection is closed (gracefully: GOAWAY) once it is
 * that old, so a long-lived client connects again and a fleet's new replicas get calls. Seen from
 * the server: the calls of one client come from a new peer (another client port) after the age.
 */
import test from 'ava';
import { AlexNetClient } from '../../src/serve/client.js';
import { createLogger } from '../../src/serve/log.js';
import { startServer } from '../../src/serve/server.js';
import { MODEL, png } from '../serve-fixtures.js';

test('a connection older than --max-connection-age is replaced: the same client calls from a new peer', async (t) => {
  const peers: string[] = [];
  const logger = createLogger('debug', (line) => {
    const m = JSON.parse(line) as { msg: string; peer?: string };
    if (m.msg === 'call' && m.peer) peers.push(m.peer);
  });
  const ageMs = 2000;
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', maxDelayMs: 5, maxConnectionAgeMs: ageMs, graceMs: 500, logger });
  const client = new AlexNetClient(server.address);
  try {
    const image = await png(8);
    const first = performance.now();
    await client.classify({ image, crop: 'CENTER' });
    await client.classify({ image, crop: 'CENTER' });
    const insideAge = performance.now() - first < 0.9 * ageMs;
    await new Promise((r) => setTimeout(r, 2.5 * ageMs));
    await client.classify({ image, crop: 'CENTER' });
    t.is(peers.length, 3);
    // On a machine so loaded that two calls took most of the age, the connection may rightly have been replaced between them.
    if (insideAge) t.is(peers[0], peers[1], 'calls inside the age share the connection');
    else t.log('the first two calls took most of the age: their sharing a connection is not checked');
    t.not(peers[2], peers[0], 'the call after the age came on a new connection');
  } finally {
    client.close();
    await server.shutdown('test done');
  }
});

test('without an age reached, the connection stays: the same peer across calls a second apart', async (t) => {
  const peers: string[] = [];
  const logger = createLogger('debug', (line) => {
    const m = JSON.parse(line) as { msg: string; peer?: string };
    if (m.msg === 'call' && m.peer) peers.push(m.peer);
  });
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', maxDelayMs: 5, logger });
  const client = new AlexNetClient(server.address);
  try {
    const image = await png(9);
    await client.classify({ image });
    await new Promise((r) => setTimeout(r, 1500));
    await client.classify({ image });
    t.is(peers.length, 2);
    t.is(peers[0], peers[1]);
  } finally {
    client.close();
    await server.shutdown('test done');
  }
});
