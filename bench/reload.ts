/**
 * bench:reload (also run at the end of bench:serve): what a model swap costs the callers.
 *
 * The shipped model is published as version 1 of a repository and served (--model-dir); a load
 * client in its own process (bench/load-client.ts) keeps a closed loop of Classify calls. Windows
 * of equal length alternate: one with no swap, one with a swap in its middle (a new version
 * published, then reload(): its workers start and warm beside the old ones, then the swap). Each
 * pair prints images/s and p99 latency side by side and their ratio; failures are counted.
 *
 *   npm run bench:reload -- --seconds 4 --pairs 3 --concurrency 4
 */
import { fork } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DEFAULT_MODEL, tenCropPath } from '../src/model/model-files.js';
import { createLogger } from '../src/serve/log.js';
import { startServer } from '../src/serve/server.js';
import type { LoadMessage, LoadResult } from './load-client.js';
import { positiveInteger, positiveNumber } from './options.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' }, pairs: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '4' } } });
const seconds = positiveNumber('bench:reload', 'seconds', values.seconds);
const pairs = positiveInteger('bench:reload', 'pairs', values.pairs);
const concurrency = positiveInteger('bench:reload', 'concurrency', values.concurrency);

const repo = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-bench-reload-'));
const publish = async (version: number) => {
  const partial = path.join(repo, 'fashion-mnist-mini', `.${version}.partial`);
  await fs.mkdir(partial, { recursive: true });
  await fs.copyFile(DEFAULT_MODEL, path.join(partial, 'model.onnx'));
  await fs.copyFile(tenCropPath(DEFAULT_MODEL), path.join(partial, 'model.tencrop.onnx'));
  await fs.rename(partial, path.join(repo, 'fashion-mnist-mini', String(version)));
};
await publish(1);
const server = await startServer({ modelDir: repo, port: 0, device: 'cpu', logger: createLogger('warn') });
const images = await Promise.all(
  Array.from({ length: 16 }, (_, k) =>
    sharp(Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * (k + 3) * 37) % 251)), { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg()
      .toBuffer(),
  ),
);

const client = fork(fileURLToPath(new URL('./load-client.js', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const send = (m: LoadMessage) => client.send(m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const result = () => new Promise<LoadResult>((resolve) => client.once('message', (r: LoadResult) => resolve(r)));

let version = 1;
/** One window: warm up 1 s, count `seconds`, with a swap in the middle if asked. */
async function window(swap: boolean): Promise<LoadResult & { reloadMs: number }> {
  send({ type: 'start', address: server.address, images, concurrency, timeoutMs: 30_000 });
  await sleep(1000);
  send({ type: 'count' });
  let reloadMs = NaN;
  if (swap) {
    await sleep((seconds * 1000) / 4);
    await publish(++version);
    const t0 = performance.now();
    const outcome = await server.reload('bench');
    reloadMs = performance.now() - t0;
    if (outcome.status !== 'loaded') throw new Error(`the reload did not load: ${JSON.stringify(outcome)}`);
    await sleep(Math.max(0, seconds * 1000 - (seconds * 1000) / 4 - reloadMs));
  } else await sleep(seconds * 1000);
  const r = result();
  send({ type: 'stop' });
  return { ...(await r), reloadMs };
}

const failed = (r: LoadResult) => Object.entries(r.statuses).filter(([s]) => s !== 'OK').reduce((n, [, c]) => n + c, 0);
console.log(`bench:reload  shipped model, cpu, ${os.availableParallelism()} cores, concurrency ${concurrency}, windows of ${seconds} s (each after 1 s of warm-up)`);
console.log('pair  plain images/s  p99 ms | swap images/s  p99 ms  reload ms  failed | images/s ratio  p99 ratio');
for (let p = 1; p <= pairs; p++) {
  const plain = await window(false);
  const swapped = await window(true);
  const rate = (r: LoadResult) => r.ok / r.seconds;
  console.log(
    `${String(p).padStart(4)}  ${rate(plain).toFixed(1).padStart(14)}  ${plain.p99Ms.toFixed(0).padStart(6)} | ${rate(swapped).toFixed(1).padStart(13)}  ${swapped.p99Ms.toFixed(0).padStart(6)}  ${swapped.reloadMs.toFixed(0).padStart(9)}  ${String(failed(plain) + failed(swapped)).padStart(6)} | ${(rate(swapped) / rate(plain)).toFixed(3).padStart(14)}  ${(swapped.p99Ms / plain.p99Ms).toFixed(2).padStart(9)}`,
  );
}
client.disconnect();
await server.shutdown('bench done');
await fs.rm(repo, { recursive: true, force: true });
