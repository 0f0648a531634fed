/**
 * A server SIGKILLed in the middle of a bulk Upsert stream, its LanceDB index reopened: every item
 * acknowledged before the kill is there with its vector, and the open reports no error.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SearchClient } from '../../src/serve/search-client.js';
import { startServer } from '../../src/serve/server.js';
import { CLI, MODEL, quiet } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';

const DIM = 512;
const vector = (i: number) => Array.from({ length: DIM }, (_, j) => Math.sin(i * 0.37 + j * 0.11) * 3);

test('SIGKILL during a bulk upsert: every acknowledged item survives the reopen', async (t) => {
  const index = await tempDir('search-crash');
  const proc = spawn(process.execPath, [CLI, 'serve', '--model', MODEL, '--port', '0', '--device', 'cpu', '--index', index], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const address = await new Promise<string>((resolve, reject) => {
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"msg":"serving","address":"([^"]+)"/.exec(log);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${log}`)));
  });
  const c = new SearchClient(address);
  const acked: string[] = [];
  const call = c.upsertStream();
  call.on('error', () => undefined); // the kill ends the stream with UNAVAILABLE
  const killed = new Promise<void>((resolve) => {
    call.on('data', (r: { id: string; ok: boolean }) => {
      if (r.ok) acked.push(r.id);
      if (acked.length === 300 && proc.exitCode === null) {
        proc.kill('SIGKILL');
        resolve();
      }
    });
  });
  // Far more than are acknowledged before the kill: commits are in flight when it lands.
  for (let i = 0; i < 3000; i++) call.write({ id: `item-${i}`, vector: { values: vector(i) }, labels: { n: String(i) } });
  await killed;
  await once(proc, 'exit');
  c.close();
  t.true(acked.length >= 300, `${acked.length} acknowledged`);

  const server = await startServer({ model: MODEL, index, port: 0, device: 'cpu', logger: quiet });
  const r = new SearchClient(server.address);
  try {
    const d = await r.describe();
    t.true(d.count >= acked.length, `${d.count} stored, ${acked.length} acknowledged`);
    for (let at = 0; at < acked.length; at += 1000) {
      const items = (await r.get({ ids: acked.slice(at, at + 1000) })).items;
      t.true(items.every((it) => it.found));
    }
    const i = Number(acked[acked.length - 1]!.slice(5));
    const hit = (await r.search({ vector: { values: vector(i) }, k: 1, filter: { equals: { n: String(i) } } })).hits[0]!;
    t.is(hit.id, `item-${i}`);
    t.true(hit.distance < 1e-3);
    // The reopen removed what the killed writer left half-written.
    const data = await fs.readdir(path.join(index, 'items.lance', 'data')).catch(() => []);
    t.deepEqual(data.filter((n) => n.startsWith('.tmp')), []);
  } finally {
    r.close();
    await server.shutdown('done');
  }
});
