/**
 * npm run bench:serve [-- --seconds 8 --concurrency 1,4,16 --workers 1,2 --max-batch 2,4 --max-delay-ms 0,2 --split-crops on,off --tls off,on --metrics off,on --rounds 3 --device webgpu --model models/fmnist/model.onnx --jpeg 500x375]
 *
 * In one run: the ceiling, onnxruntime alone on the ten-crop model with the images decoded
 * beforehand, each session in a worker thread as in a server, at its best over layouts (the
 * server's workers x threads, one session with every core, one single-thread session per core)
 * and batches of 1, 2, 4, 8, 16 images and the server's max batch (each shown); then Classify
 * over gRPC against `alexnet serve` started as a process of its own, driven by a closed-loop load
 * client in another (bench/load-client.ts), with real JPEG files (distinct synthetic pictures
 * made here once: 200x160 for a model of base size up to 100, else 500x375, about ImageNet's
 * typical photo; --jpeg WxH to choose), at each concurrency: images/s and its ratio to the
 * ceiling, latency p50/p99, statuses, the mean batch, and the server's event-loop lag. With
 * --max-delay-ms as a list, a server is started for each delay in turn and every concurrency is
 * measured against each, beside one ceiling; so with --workers (threads: cores / workers, or
 * --threads), --max-batch and --split-crops (a lone image's ten crops divided among the free
 * workers, the server's default, or not), --tls (the server serves TLS with a certificate made
 * here by openssl, the load client trusts its CA) and --metrics (--metrics-port: every call
 * recorded in prom-client's histograms) as lists: a server for each combination. The server logs a stats line every --seconds
 * (--stats-interval-ms: lag p99 and max since the previous line); each row's window runs from
 * one line to the next (the bench tells the load client when to start and stop counting), so its
 * calls and its lag cover the same seconds. The issue's targets are printed beside the figures,
 * not asserted: absolute figures vary between machines and runs. --rounds N measures the
 * configurations in turn N times and ends with each one's median images/s against the first's.
 * Then (unless --reload off) the
 * cost of a model swap: bench:reload with its defaults (bench/reload.ts), in a process of its own.
 */
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { decodeToSquare, encodeRgb } from '../src/image/decode.js';
import { DEFAULT_MODEL, singleCropPath, tenCropPath } from '../src/model/model-files.js';
import { readModelMetadata } from '../src/model/onnx-metadata.js';
import { defaultMaxBatch, defaultMaxDelayMs, resolveParallelism } from '../src/serve/batching-defaults.js';
import { Rng } from '../src/util/rng.js';
import { runLockFor } from '../src/serve/gpu-run-lock.js';
import type { CeilingRequest, CeilingWorkerData } from './ceiling-worker.js';
import type { LoadMessage, LoadResult } from './load-client.js';
import { makeCa, makeLeaf } from '../test/tls-fixtures.js';
import { picture } from './picture.js';
import { startServerProcess, type Layout, type StatsLine } from './serve-process.js';
import { nonNegativeNumbers, positiveInteger, positiveIntegers, positiveNumber, refuseOption } from './options.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    'warmup-seconds': { type: 'string', default: '2' },
    model: { type: 'string', default: DEFAULT_MODEL },
    concurrency: { type: 'string', default: '1,4,16' },
    images: { type: 'string', default: '64' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    'max-batch': { type: 'string' },
    'max-delay-ms': { type: 'string' },
    'split-crops': { type: 'string' },
    jpeg: { type: 'string' },
    tls: { type: 'string' },
    metrics: { type: 'string' },
    reload: { type: 'string', default: 'on' },
    rounds: { type: 'string', default: '1' },
    device: { type: 'string', default: 'cpu' },
  },
});
const BENCH = 'bench:serve';
const seconds = positiveNumber(BENCH, 'seconds', args.seconds);
const warmupSeconds = positiveNumber(BENCH, 'warmup-seconds', args['warmup-seconds']);
const imageCount = positiveInteger(BENCH, 'images', args.images);
const levels = positiveIntegers(BENCH, 'concurrency', args.concurrency);
const rounds = positiveInteger(BENCH, 'rounds', args.rounds);
// The execution provider of the server and of the ceiling alike (cpu, or webgpu on a GPU machine).
const runReload = args.reload === 'on' || args.reload === 'off' ? args.reload === 'on' : refuseOption(BENCH, 'reload', args.reload, 'on or off');
const device = args.device === 'cpu' || args.device === 'webgpu' ? args.device : refuseOption(BENCH, 'device', args.device, 'cpu or webgpu');
if (args.threads !== undefined) positiveInteger(BENCH, 'threads', args.threads);
const workerCounts = args.workers === undefined ? [undefined] : positiveIntegers(BENCH, 'workers', args.workers);
const jpegSize = args.jpeg === undefined ? undefined : /^([1-9][0-9]*)x([1-9][0-9]*)$/.exec(args.jpeg)?.slice(1).map(Number);
if (args.jpeg !== undefined && !jpegSize) refuseOption(BENCH, 'jpeg', args.jpeg, 'WIDTHxHEIGHT, e.g. 500x375');
const single = singleCropPath(args.model!);
const ten = tenCropPath(single);
// The server's own default on cpu unless --max-batch says otherwise.
const maxBatches = args['max-batch'] === undefined ? [defaultMaxBatch(device)] : positiveIntegers(BENCH, 'max-batch', args['max-batch']);
// The server's own default unless --max-delay-ms lists delays to compare (a server for each).
const delays = args['max-delay-ms'] === undefined ? [defaultMaxDelayMs(device)] : nonNegativeNumbers(BENCH, 'max-delay-ms', args['max-delay-ms']);
// The server's own range (src/cli/arg-parsers.ts, batchDelay): refused here, before the ceiling's minutes, not by the first server started.
if (delays.some((d) => d > 10_000)) refuseOption(BENCH, 'max-delay-ms', args['max-delay-ms'], 'a comma-separated list of delays from 0 to 10000 (the server\'s range)');
// The server's default (on) unless --split-crops lists on and/or off.
const splits = (args['split-crops'] ?? 'on').split(',').map((v) => {
  if (v !== 'on' && v !== 'off') refuseOption(BENCH, 'split-crops', args['split-crops']!, 'on, off or on,off');
  return v === 'on';
});
/** An on/off list option (default: off). */
const onOff = (name: 'tls' | 'metrics') =>
  (args[name] ?? 'off').split(',').map((v) => {
    if (v !== 'on' && v !== 'off') refuseOption(BENCH, name, args[name]!, 'on, off or off,on');
    return v === 'on';
  });
const tlsModes = onOff('tls');
const metricsModes = onOff('metrics');
const certDir = tlsModes.includes(true) ? await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-bench-tls-')) : undefined;
const ca = certDir ? await makeCa(certDir, 'bench-ca') : undefined;
const serverCert = certDir && ca ? await makeLeaf(certDir, 'bench-server', ca, 'server') : undefined;
const LOAD_CLIENT = fileURLToPath(new URL('./load-client.js', import.meta.url));
const CEILING_WORKER = new URL('./ceiling-worker.js', import.meta.url);
// The server logs its stats (event-loop lag since the previous line) once per measured window.
const statsIntervalMs = Math.round(seconds * 1000);
// The issue's targets, at concurrency >= 4.
const TARGET_RATIO = 0.9;
const TARGET_LAG_P99_MS = 20;

// The JPEG files, and the same images decoded as the server decodes them (for the ceiling).
const meta = await readModelMetadata(ten);
const base = meta.baseSize;
const rng = new Rng(7);
const jpegs: Buffer[] = [];
const [jpegWidth, jpegHeight] = jpegSize ?? (base <= 100 ? [200, 160] : [500, 375]);
for (let i = 0; i < imageCount; i++) jpegs.push(await encodeRgb(picture(rng, jpegWidth!, jpegHeight!), jpegWidth!, jpegHeight!, 'jpeg', 85));
const decoded = await Promise.all(jpegs.map((j) => decodeToSquare(j, { size: base })));
const cpus = os.cpus();
console.log(
  `${cpus.length} CPU cores (${cpus[0]?.model.trim() ?? 'unknown'}), load average ${os.loadavg()[0]!.toFixed(2)}; node ${process.version}; ` +
    `model ${single} (${meta.preset}, base ${base}); ${imageCount} JPEG files ${jpegWidth}x${jpegHeight}, ${(jpegs.reduce((n, j) => n + j.length, 0) / imageCount / 1024).toFixed(1)} kB on average`,
);

// The ceiling: onnxruntime alone on the pre-decoded images, each session in a worker thread of
// its own as in a server: in the server's layout (workers x threads), in one session with every
// core, and (up to 8 cores) in one single-thread session per core, each over batch sizes; the
// best of all is the ceiling, so a server is measured against the best onnxruntime does here,
// whichever layout that is.
const cores = os.availableParallelism();
// The server's layouts: its default, or each --workers (threads: --threads, else cores / workers), as the server resolves them.
const serverLayouts = workerCounts.map((n): Layout => resolveParallelism(device, n, args.threads === undefined ? undefined : Number(args.threads), cores));
const sameLayout = (a: Layout, b: Layout) => a.workers === b.workers && a.threads === b.threads;
const layouts = [...serverLayouts, ...(device === 'cpu' ? [{ workers: 1, threads: cores }, ...(cores <= 8 ? [{ workers: cores, threads: 1 }] : [])] : [])].filter(
  (l, i, all) => all.findIndex((m) => sameLayout(l, m)) === i,
);
const layoutName = (l: Layout) => `${l.workers} worker${l.workers > 1 ? 's' : ''} x ${l.threads} thread${l.threads > 1 ? 's' : ''}`;
// The ceiling: onnxruntime's best over batch sizes (on a CPU, not the largest: see defaultMaxBatch).
const BATCHES = [...new Set([1, 2, 4, 8, 16, ...maxBatches])].sort((a, b) => a - b);
const alone: { layout: Layout; batch: number; rate: number }[] = [];
/** The worker's next message; rejects if the worker fails first. */
const nextMessage = <T>(w: Worker): Promise<T> =>
  Promise.race([once(w, 'message').then(([m]) => m as T), once(w, 'error').then(([e]) => Promise.reject(e as Error))]);
for (const layout of layouts) {
  const workers = await Promise.all(
    Array.from({ length: layout.workers }, async () => {
      const w = new Worker(CEILING_WORKER, { workerData: { model: ten, threads: layout.threads, base, images: decoded.map((d) => d.data), provider: device, runLock: runLockFor(device) } satisfies CeilingWorkerData });
      const m = await nextMessage<{ ready?: true }>(w);
      if (!m.ready) throw new Error('the ceiling worker did not start');
      return w;
    }),
  );
  try {
    for (const batch of BATCHES) {
      const answers = await Promise.all(
        workers.map((w) => {
          const answer = nextMessage<{ rate?: number; error?: string }>(w);
          w.postMessage({ batch, warmupSeconds, seconds } satisfies CeilingRequest);
          return answer;
        }),
      );
      const failed = answers.find((a) => a.error !== undefined);
      if (failed) throw new Error(`onnxruntime alone failed: ${failed.error}`);
      alone.push({ layout, batch, rate: answers.reduce((sum, a) => sum + a.rate!, 0) });
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate())); // idle by now: none holds the run lock
  }
}
const ceiling = Math.max(...alone.map((a) => a.rate));
// At concurrency c the workers' batches hold c images in all: onnxruntime's best where they do
// bounds what concurrency 4 can reach before any server cost.
const SMALL = 4;
const smallBound = Math.max(...alone.filter((a) => a.batch * a.layout.workers <= SMALL).map((a) => a.rate)) / ceiling;

// Decoding alone, one image at a time as a call does (sharp, the server's own decodeToSquare): the
// CPU each image costs before it reaches the model. On a machine whose cores the ceiling already
// fills, that CPU is taken from inference, which bounds the ratio any server can reach.
const decodeEnd = performance.now() + (seconds * 1000) / 2;
const cpu0 = process.cpuUsage();
const d0 = performance.now();
let decodes = 0;
while (decodes < 8 || performance.now() < decodeEnd) await decodeToSquare(jpegs[decodes++ % imageCount]!, { size: base });
const decodeCpu = process.cpuUsage(cpu0);
const decodeRate = decodes / ((performance.now() - d0) / 1000);
const decodeCpuMs = (decodeCpu.user + decodeCpu.system) / 1000 / decodes;
// CPU per image of inference when onnxruntime fills every core (an upper bound on what it uses).
const inferCpuMs = (cores * 1000) / ceiling;
const decodeBound = inferCpuMs / (inferCpuMs + decodeCpuMs);

// The server and the load client, each a process of its own. Each row's window runs from one
// stats line of the server to the next, so the lag it reports covers the same calls.
const client = fork(LOAD_CLIENT, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const clientExited = once(client, 'exit').then(([code]) => Promise.reject(new Error(`the load client exited with code ${code}`)));
clientExited.catch(() => undefined);
const send = (m: LoadMessage) => client.send(m);
const results: { layout: Layout; maxBatch: number; delay: number; split: boolean; tls: boolean; metrics: boolean; splitShare: number; load: LoadResult; stats: StatsLine; meanBatch: number; busy: number; batchMs: number }[] = [];
// Each server configuration: every layout with every delay.
const configurations = serverLayouts.flatMap((layout) => maxBatches.flatMap((maxBatch) => delays.flatMap((delay) => splits.flatMap((split) => tlsModes.flatMap((tls) => metricsModes.map((metrics) => ({ layout, maxBatch, delay, split, tls, metrics })))))));
try {
  // --rounds N: the configurations in turn, N times over, so slow drifts of a noisy machine fall on each alike.
  for (const { layout, maxBatch, delay, split, tls, metrics } of Array.from({ length: rounds }, () => configurations).flat()) {
    const server = await startServerProcess({ model: single, device, statsIntervalMs, ...(serverCert ? { serverCert } : {}) }, layout, maxBatch, delay, split, tls, metrics);
    const caPem = tls ? await fs.readFile(ca!.cert) : undefined;
    try {
      for (const concurrency of levels) {
        send({ type: 'start', address: server.serving.address as string, images: jpegs, concurrency, timeoutMs: 30_000, ...(caPem ? { ca: caPem } : {}) });
        // Warm-up: at least warmupSeconds, up to the server's next stats line (the lag histogram is reset there).
        await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
        const before = await server.nextStats();
        send({ type: 'count' });
        const stats = await server.nextStats();
        const answer = Promise.race([once(client, 'message') as Promise<[LoadResult]>, clientExited]);
        send({ type: 'stop' });
        const load = (await answer)[0];
        const batches = Math.max(1, stats.batches - before.batches);
        const workerMs = stats.workerMs - before.workerMs;
        const workers = Number(server.serving.workers);
        const inferred = stats.inferred - before.inferred;
        results.push({ layout, maxBatch, delay, split, tls, metrics, load, stats, splitShare: inferred > 0 ? ((stats.split ?? 0) - (before.split ?? 0)) / inferred : 0, meanBatch: inferred / batches, busy: workerMs / (load.seconds * 1000 * workers), batchMs: workerMs / batches });
      }
    } finally {
      server.child.kill('SIGTERM');
      if (server.child.exitCode === null) await once(server.child, 'exit');
    }
  }
} finally {
  if (client.connected) client.disconnect();
}

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const header = ['what', 'concurrency', 'images/s', 'vs ceiling', 'latency p50 ms', 'latency p99 ms', 'statuses', 'mean batch', 'workers busy / ms per batch', 'server loop lag p99 / max ms', 'CPU cores used: server / load client', 'CPU ms per image: server / load client', 'targets (c >= 4)'];
const rows: string[][] = [
  ...alone.map(({ layout, batch: b, rate }) => {
    const what = `onnxruntime alone (ten-crop, ${layoutName(layout)}, batch ${b})${rate === ceiling ? ': the ceiling' : ''}${serverLayouts.some((l) => sameLayout(l, layout)) && maxBatches.includes(b) ? ", a server's layout and max batch" : ''}`;
    const bound = layout === layouts[layouts.length - 1] && b === BATCHES[BATCHES.length - 1] ? `bound at c=${SMALL} ${smallBound.toFixed(3)}x` : '-';
    return [what, '-', fmt(rate), `${(rate / ceiling).toFixed(3)}x`, '-', '-', '-', String(b), `- / ${fmt((layout.workers * b * 1000) / rate)}`, '-', '-', rate === ceiling ? `${fmt(inferCpuMs, 2)} (every core)` : '-', bound];
  }),
  [`JPEG decoding alone (sharp, one at a time): ${decodeCpuMs.toFixed(2)} ms CPU per image`, '-', fmt(decodeRate), `${(decodeRate / ceiling).toFixed(3)}x`, '-', '-', '-', '-', '-', '-', '-', fmt(decodeCpuMs, 2), `bound ${decodeBound.toFixed(3)}x`],
];
for (const { layout, maxBatch, delay, split, tls, metrics, splitShare, load: r, stats: s, meanBatch, busy, batchMs } of results) {
  const rate = r.ok / r.seconds;
  const lag = s.eventLoopLagP99Ms;
  const targets =
    r.concurrency >= 4
      ? `${rate / ceiling >= TARGET_RATIO ? 'met' : 'missed'} >= ${TARGET_RATIO.toFixed(2)}x; ${lag === null ? '?' : lag < TARGET_LAG_P99_MS ? 'met' : 'missed'} lag < ${TARGET_LAG_P99_MS} ms`
      : '-';
  rows.push([
    `Classify over gRPC (JPEG, ten crops; ${layoutName(layout)}, max batch ${maxBatch}, max delay ${delay} ms${split ? '' : ', no split'}${tlsModes.length > 1 || tls ? `, TLS ${tls ? 'on' : 'off'}` : ''}${metricsModes.length > 1 || metrics ? `, metrics ${metrics ? 'on' : 'off'}` : ''})`,
    String(r.concurrency),
    fmt(rate),
    `${(rate / ceiling).toFixed(3)}x`,
    fmt(r.p50Ms),
    fmt(r.p99Ms),
    Object.entries(r.statuses).map(([k, n]) => `${k} ${n}`).join(', ') || 'none',
    split ? `${fmt(meanBatch)} (${(splitShare * 100).toFixed(0)}% split)` : fmt(meanBatch),
    `${(busy * 100).toFixed(0)}% / ${fmt(batchMs)}`,
    `${fmt(lag ?? NaN)} / ${fmt(s.eventLoopLagMaxMs ?? NaN)}`,
    `${fmt(s.cpuCores ?? NaN, 2)} / ${fmt(r.cores, 2)}`,
    `${fmt(((s.cpuCores ?? NaN) * 1000) / rate, 2)} / ${fmt((r.cores * 1000) / rate, 2)}`,
    targets,
  ]);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(
    `each row: ${seconds} s measured (one stats interval of the server) after at least ${warmupSeconds} s of warm-up; one load-client process, closed loop, one channel`,
);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(
  `targets (from the issue, not asserted): at concurrency >= 4, >= ${TARGET_RATIO.toFixed(2)}x the ceiling and server event-loop lag p99 < ${TARGET_LAG_P99_MS} ms. ` +
    `Lag: how late the server's 10 ms event-loop timer fired, over the row's window. ` +
    `images/s counts OK answers; latency is of OK answers. Bound: the ratio a server reaches at best when each image's decoding ` +
    `(${decodeCpuMs.toFixed(2)} ms CPU) takes cores that inference (${inferCpuMs.toFixed(2)} ms CPU per image with every core busy) would use: ` +
    `${inferCpuMs.toFixed(2)} / (${inferCpuMs.toFixed(2)} + ${decodeCpuMs.toFixed(2)}), before any gRPC cost. CPU cores used: CPU time of each process over the window / its length ` +
    `(the ceiling had all ${cpus.length} cores to itself; here the load client and the server's decoding and gRPC share them). ` +
    `CPU ms per image: that CPU time / the images answered; the server's, less the ceiling's ${inferCpuMs.toFixed(2)} ms of inference and ` +
    `${decodeCpuMs.toFixed(2)} ms of decoding, is what gRPC, its main thread and the hand-over to the workers cost.`,
);
if (certDir) await fs.rm(certDir, { recursive: true, force: true });
const configName = (c: { layout: Layout; maxBatch: number; delay: number; split: boolean; tls: boolean; metrics: boolean }) =>
  `${layoutName(c.layout)}, max batch ${c.maxBatch}, delay ${c.delay} ms${c.split ? '' : ', no split'}, TLS ${c.tls ? 'on' : 'off'}, metrics ${c.metrics ? 'on' : 'off'}`;
if (configurations.length > 1 || rounds > 1) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  console.log(`\nside by side: median images/s over ${rounds} round(s) of each configuration, and its ratio to the first configuration's at the same concurrency`);
  for (const concurrency of levels) {
    const medians = configurations.map((c) => median(results.filter((r) => configName(r) === configName(c) && r.load.concurrency === concurrency).map((r) => r.load.ok / r.load.seconds)));
    configurations.forEach((c, i) => console.log(`  c=${concurrency}  ${configName(c).padEnd(70)}  ${fmt(medians[i]!)} images/s  ${(medians[i]! / medians[0]!).toFixed(3)}x`));
  }
}
if (runReload) {
  console.log('\nbench:reload (the cost of a model swap; --reload off skips it):');
  const reload = spawn(process.execPath, [fileURLToPath(new URL('./reload.js', import.meta.url))], { stdio: 'inherit' });
  const [code] = (await once(reload, 'exit')) as [number];
  if (code !== 0) process.exitCode = code;
}
