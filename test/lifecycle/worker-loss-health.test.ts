/**
 * What load balancers and probes are told while no inference worker runs and none can start
 * (its model file overwritten in place, then its thread ended from outside, as in
 * server-logs.test.ts): grpc.health.v1 Check and Watch of the server ('') and of every service,
 * KServe's ServerReady, ModelReady and RepositoryIndex, and /readyz, before, during and after,
 * against what the calls themselves get (UNAVAILABLE, then answers again); a reload to a version
 * whose workers run ends that state too. The health client is
 * grpc-js with the .proto grpc-health-check ships; the KServe one, grpc-js with the proto's client.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../../src/serve/client.js';
import { createLogger } from '../../src/serve/log.js';
import { kserveClientConstructor } from '../../src/serve/proto.js';
import { startServer } from '../../src/serve/server.js';
import { MODEL, png } from '../serve-fixtures.js';
import { healthClient } from '../health-client.js';
import { tempDir } from '../temp-dir.js';


const unary = <T>(f: (done: (e: grpc.ServiceError | null, r?: T) => void) => void) => new Promise<T>((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r!))));

/** The names the server reports health for: its own ('') and each service's. */
const NAMES = ['', 'alexnet.v1.AlexNet', 'alexnet.v1.ImageSearch', 'inference.GRPCInferenceService'];

test.serial('while no inference worker runs and none can start, health is NOT_SERVING (Check and Watch) and KServe is not ready; once one starts, SERVING and ready again', async (t) => {
  // A model of the test's own, so its file can be damaged and mended.
  const dir = await tempDir('worker-loss-health');
  const model = path.join(dir, 'model.onnx');
  await fs.copyFile(MODEL, model);
  await fs.copyFile(MODEL.replace(/\.onnx$/, '.tencrop.onnx'), path.join(dir, 'model.tencrop.onnx'));
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const logged = (match: (l: Record<string, unknown>) => boolean) => new Promise<void>((resolve) => waiters.push({ match, resolve }));
  const logger = createLogger('info', (text) => {
    const l = JSON.parse(text) as Record<string, unknown>;
    for (const w of waiters.filter((w) => w.match(l))) w.resolve();
  });
  const server = await startServer({ model, port: 0, device: 'cpu', workers: 1, metricsPort: 0, logger });
  const name = server.info.model!.name!;
  const client = new AlexNetClient(server.address);
  const health = healthClient(server.address);
  const kserve = new (kserveClientConstructor())(server.address, grpc.credentials.createInsecure());
  // Every status each Watch receives, until its call ends (the server's shutdown ends them).
  const watched = NAMES.map((service) => {
    const statuses: string[] = [];
    const call = health.Watch({ service });
    call.on('data', (r: { status: string }) => statuses.push(r.status));
    const ended = new Promise<void>((resolve) => {
      call.on('error', () => resolve());
      call.on('end', () => resolve());
    });
    return { service, statuses, ended, first: new Promise<void>((resolve) => call.once('data', () => resolve())) };
  });
  const endWorker = () => (server.engine as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
  /** What a prober is told now: each name's Check, KServe's readiness and repository state, /readyz. */
  const probe = async () => ({
    health: await Promise.all(NAMES.map((service) => unary<{ status: string }>((d) => health.Check({ service }, d)).then((r) => r.status))),
    serverReady: (await unary<{ ready: boolean }>((d) => kserve.ServerReady({}, d))).ready,
    modelReady: (await unary<{ ready: boolean }>((d) => kserve.ModelReady({ name }, d))).ready,
    repository: (await unary<{ models: { state: string }[] }>((d) => kserve.RepositoryIndex({}, d))).models.map((m) => m.state),
    readyz: (await fetch(`http://127.0.0.1:${server.metricsPort}/readyz`)).status,
  });
  const serving = { health: NAMES.map(() => 'SERVING'), serverReady: true, modelReady: true, repository: ['READY'], readyz: 200 };
  const notServing = { health: NAMES.map(() => 'NOT_SERVING'), serverReady: false, modelReady: false, repository: ['UNAVAILABLE'], readyz: 503 };
  let stopped = false;
  try {
    await Promise.all(watched.map((w) => w.first));
    t.deepEqual(await probe(), serving, 'before');

    // The model file overwritten in place: the worker ended cannot be started again.
    const bytes = await fs.readFile(model);
    await fs.writeFile(model, 'not a model any more');
    const refusing = logged((l) => typeof l.msg === 'string' && l.msg.startsWith('inference worker could not be started again'));
    await endWorker();
    await refusing;
    const refused = await client.classify({ image: await png(6) }, { timeoutMs: 30_000 }).catch((e: grpc.ServiceError) => e);
    if (!t.is((refused as grpc.ServiceError).code, grpc.status.UNAVAILABLE, 'the calls are refused')) return;
    t.deepEqual(await probe(), notServing, 'while no worker runs and none can start');

    // Mended: the next try starts a worker, and every prober is told so.
    const back = logged((l) => l.msg === 'inference worker started in place of one that ended');
    await fs.writeFile(model, bytes);
    await back;
    t.true((await client.classify({ image: await png(6), top_k: 1 })).classes.length === 1, 'the calls are answered');
    t.deepEqual(await probe(), serving, 'once a worker started');

    stopped = true;
    await server.shutdown('test done');
    await Promise.all(watched.map((w) => w.ended));
    // Each Watch was told of each change, once: serving, the worker lost, back, shutdown.
    t.deepEqual(
      watched.map((w) => [w.service, w.statuses]),
      NAMES.map((service) => [service, ['SERVING', 'NOT_SERVING', 'SERVING', 'NOT_SERVING']]),
    );
  } finally {
    client.close();
    health.close();
    kserve.close();
    if (!stopped) await server.shutdown();
  }
});

test.serial('a reload that swaps in a version whose workers run makes a server left without workers SERVING and ready again', async (t) => {
  // A repository of the shipped model: version 1's file is damaged in place, version 2 published after.
  const repo = await tempDir('worker-loss-reload');
  const publish = async (version: number) => {
    const partial = path.join(repo, 'fm', `.${version}.partial`);
    await fs.mkdir(partial, { recursive: true });
    await fs.copyFile(MODEL, path.join(partial, 'model.onnx'));
    await fs.copyFile(MODEL.replace(/\.onnx$/, '.tencrop.onnx'), path.join(partial, 'model.tencrop.onnx'));
    await fs.rename(partial, path.join(repo, 'fm', String(version)));
  };
  await publish(1);
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const logged = (match: (l: Record<string, unknown>) => boolean) => new Promise<void>((resolve) => waiters.push({ match, resolve }));
  const logger = createLogger('info', (text) => {
    const l = JSON.parse(text) as Record<string, unknown>;
    for (const w of waiters.filter((w) => w.match(l))) w.resolve();
  });
  const server = await startServer({ modelDir: repo, port: 0, device: 'cpu', workers: 1, metricsPort: 0, logger });
  const client = new AlexNetClient(server.address);
  const health = healthClient(server.address);
  const kserve = new (kserveClientConstructor())(server.address, grpc.credentials.createInsecure());
  const probe = async () => ({
    health: (await unary<{ status: string }>((d) => health.Check({ service: '' }, d))).status,
    serverReady: (await unary<{ ready: boolean }>((d) => kserve.ServerReady({}, d))).ready,
    readyz: (await fetch(`http://127.0.0.1:${server.metricsPort}/readyz`)).status,
  });
  try {
    await fs.writeFile(path.join(repo, 'fm', '1', 'model.onnx'), 'not a model any more');
    const refusing = logged((l) => typeof l.msg === 'string' && l.msg.startsWith('inference worker could not be started again'));
    await (server.engine as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
    await refusing;
    t.deepEqual(await probe(), { health: 'NOT_SERVING', serverReady: false, readyz: 503 }, 'no worker for version 1');

    await publish(2);
    t.like(await server.reload('test'), { status: 'loaded', to: '2' });
    t.deepEqual(await probe(), { health: 'SERVING', serverReady: true, readyz: 200 }, 'version 2 serving');
    t.is((await client.classify({ image: await png(6), top_k: 1 })).model!.version, '2');
  } finally {
    client.close();
    health.close();
    kserve.close();
    await server.shutdown();
  }
});
