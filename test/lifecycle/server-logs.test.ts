/**
 * The server's log as an operator has it: `alexnet serve` (a child process) whose stderr reader
 * goes away (`serve 2>&1 | head`) or whose stderr is a full disk (/dev/full) goes on serving, its
 * answers checked against onnxruntime run here, and exits 0 on SIGTERM; at debug level a stream
 * call has its line, with its request id and the items the test sent; an inference worker that
 * ends is said in the log and replaced, and while none can start again calls are refused at once
 * and /readyz says 503.
 */
import test from 'ava';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../../src/serve/client.js';
import { createLogger } from '../../src/serve/log.js';
import { startServer } from '../../src/serve/server.js';
import { byIndex, CLI, loadOracle, maxDiff, MODEL, png } from '../serve-fixtures.js';
import { startServerProcess } from '../server-process.js';
import { tempDir } from '../temp-dir.js';

const oracle = loadOracle();

/** Classify three pictures; each answer must be what onnxruntime computes here. */
async function answersMatch(t: import('ava').ExecutionContext, address: string): Promise<void> {
  const { meta, offline } = await oracle;
  const client = new AlexNetClient(address);
  try {
    for (const k of [1, 2, 3]) {
      const image = await png(k);
      const got = await client.classify({ image, top_k: meta.labels.length });
      t.true(maxDiff(byIndex(got.classes, meta.labels.length), (await offline(image)).p) < 1e-5);
    }
  } finally {
    client.close();
  }
}

test('a server whose stderr reader goes away keeps answering, and exits 0 on SIGTERM', async (t) => {
  const s = await startServerProcess(['--log-level', 'debug', '--workers', '1']);
  t.teardown(() => void s.child.kill('SIGKILL'));
  // As `alexnet serve 2>&1 | head -1` once head has its line: every later write meets EPIPE.
  s.child.stderr!.destroy();
  await answersMatch(t, s.address);
  s.child.kill('SIGTERM');
  const exit = await s.done;
  t.is(exit.code, 0);
});

/** A port free now (the server is told it: its 'serving' line cannot be read from /dev/full). */
async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  probe.close();
  await once(probe, 'close');
  return port;
}

test('a server whose stderr is a full disk (/dev/full) serves, and exits 0 on SIGTERM', async (t) => {
  const port = await freePort();
  const full = openSync('/dev/full', 'w');
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--workers', '1', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', full] });
  closeSync(full);
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  let gone = false;
  void exited.then(() => (gone = true));
  t.teardown(() => void (gone || child.kill('SIGKILL')));
  const address = `127.0.0.1:${port}`;
  // Until it serves: connection refused while it starts, UNAVAILABLE while the model loads.
  const ready = (async () => {
    const client = new AlexNetClient(address);
    const image = await png(0);
    try {
      while (!gone) {
        const e = await client.classify({ image }, { timeoutMs: 5000 }).then(() => undefined, (err: grpc.ServiceError) => err);
        if (!e) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    } finally {
      client.close();
    }
  })();
  const first = await Promise.race([ready, exited.then(([code]) => `exited with ${code} before serving`)]);
  t.is(first, true);
  if (first !== true) return;
  await answersMatch(t, address);
  child.kill('SIGTERM');
  const [code] = await exited;
  t.is(code, 0);
});

test('--log-level debug logs one line per stream call, with its request id and the items sent and failed; a body that is not protobuf has its line', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', workers: 1, logger: createLogger('debug', (l) => lines.push(JSON.parse(l) as Record<string, unknown>)) });
  const client = new AlexNetClient(server.address);
  try {
    const sent = [await png(1), Buffer.from('not an image'), await png(2), await png(3)];
    const md = new grpc.Metadata();
    md.set('x-request-id', 'stream-trace-7');
    const call = client.raw.ClassifyStream(md);
    const answers: { error?: unknown }[] = [];
    call.on('data', (r: { error?: unknown }) => answers.push(r));
    for (const image of sent) call.write({ image });
    call.end();
    await once(call, 'status');
    t.is(answers.length, sent.length);
    const ofCall = lines.filter((l) => l['x-request-id'] === 'stream-trace-7');
    const whole = ofCall.filter((l) => l.msg === 'call');
    t.is(whole.length, 1);
    t.like(whole[0], { method: 'ClassifyStream', items: sent.length, failed: 1 });
    t.is(typeof whole[0]!.ms, 'number');
    // The bad image's own line, as before.
    t.is(ofCall.filter((l) => l.msg === 'call refused' && l.code === 'INVALID_ARGUMENT').length, 1);
    // A body that is not protobuf, refused before any handler: its line too, with its request id.
    const raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
    const bad = new grpc.Metadata();
    bad.set('x-request-id', 'not-protobuf-3');
    const e = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest('/alexnet.v1.AlexNet/Classify', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), bad, (err) => resolve(err!)),
    );
    raw.close();
    t.is(e.code, grpc.status.INVALID_ARGUMENT);
    t.like(lines.filter((l) => l['x-request-id'] === 'not-protobuf-3'), [{ msg: 'call refused', method: 'Classify', code: 'INVALID_ARGUMENT', details: e.details }]);
  } finally {
    client.close();
    await server.shutdown();
  }
});

test.serial('an inference worker that ends is logged and replaced; while none can start, /readyz is 503 and calls are refused UNAVAILABLE', async (t) => {
  const { meta, offline } = await oracle;
  // A model of the test's own, so its file can be damaged and mended.
  const dir = await tempDir('worker-exit');
  const model = path.join(dir, 'model.onnx');
  await fs.copyFile(MODEL, model);
  await fs.copyFile(MODEL.replace(/\.onnx$/, '.tencrop.onnx'), path.join(dir, 'model.tencrop.onnx'));
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const lines: Record<string, unknown>[] = [];
  const logged = (match: (l: Record<string, unknown>) => boolean) => new Promise<void>((resolve) => waiters.push({ match, resolve }));
  const logger = createLogger('info', (text) => {
    const l = JSON.parse(text) as Record<string, unknown>;
    lines.push(l);
    for (const w of waiters.filter((w) => w.match(l))) w.resolve();
  });
  const server = await startServer({ model, port: 0, device: 'cpu', workers: 1, metricsPort: 0, logger });
  const client = new AlexNetClient(server.address);
  // The engine's one worker thread, ended from outside as a crash would end it.
  const endWorker = () => (server.engine as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
  const readyz = async () => (await fetch(`http://127.0.0.1:${server.metricsPort}/readyz`)).status;
  const classifiedRight = async () => {
    const image = await png(5);
    const got = await client.classify({ image, top_k: meta.labels.length }, { timeoutMs: 30_000 });
    return maxDiff(byIndex(got.classes, meta.labels.length), (await offline(image)).p) < 1e-5;
  };
  try {
    // The call waits in the queue for the worker started in place of the one ended.
    await endWorker();
    t.true(await classifiedRight());
    t.is(lines.filter((l) => l.msg === 'inference worker ended: starting another in its place' && l.level === 'error').length, 1);
    if (!t.is(lines.filter((l) => l.msg === 'inference worker started in place of one that ended').length, 1)) return;

    // The model file overwritten in place (as `cp` over it does; the engine holds the file itself, so
    // a rename or removal would not matter): the replacement cannot start, and the call queued for
    // it is refused, not left to its deadline.
    const bytes = await fs.readFile(model);
    await fs.writeFile(model, 'not a model any more');
    await endWorker();
    const refused = await client.classify({ image: await png(6) }, { timeoutMs: 30_000 }).catch((e: grpc.ServiceError) => e);
    if (!t.is((refused as grpc.ServiceError).code, grpc.status.UNAVAILABLE)) return;
    t.regex((refused as grpc.ServiceError).details, /no inference worker is running/);
    t.is(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('inference worker could not be started again')).length, 1);
    t.is(await readyz(), 503);

    // Back: the next try starts one, and the server is ready and right again.
    const back = logged((l) => l.msg === 'inference worker started in place of one that ended');
    await fs.writeFile(model, bytes);
    await back;
    t.is(await readyz(), 200);
    t.true(await classifiedRight());
  } finally {
    client.close();
    await server.shutdown();
  }
});

test("the 'serving' line names the similarity index, a PostgreSQL URL without its password", async (t) => {
  const lines: Record<string, unknown>[] = [];
  // Nothing listens on port 1: ImageSearch is unusable (logged), Classify serves all the same.
  const index = 'postgres://alice:s3cret-pw@127.0.0.1:1/vectors';
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', workers: 1, index, logger: createLogger('info', (l) => lines.push(JSON.parse(l) as Record<string, unknown>)) });
  try {
    const serving = lines.find((l) => l.msg === 'serving');
    t.is(serving?.index, 'postgres://alice:***@127.0.0.1:1/vectors');
    t.false(lines.some((l) => JSON.stringify(l).includes('s3cret-pw')));
  } finally {
    await server.shutdown();
  }
});
