/**
 * The gRPC server: alexnet.v1.AlexNet (Classify, Embed, their bidirectional streams,
 * GetModelInfo), grpc.health.v1 (Check and Watch) and server reflection.
 *
 * A call: refused with UNAVAILABLE while not ready or shutting down; its image decoded by the
 * shared image module (sharp, on libuv's pool, off the event loop); then one job for the engine,
 * which batches it with other calls' images and runs it in a worker thread. Errors become
 * statuses in one place (status.ts). Health says SERVING only after both models are loaded in
 * every worker and a warm-up batch has run.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import * as protoLoader from '@grpc/proto-loader';
import { CancelledError, ConfigError, UnavailableError } from '../errors.js';
import { decodeToSquare, DEFAULT_MAX_PIXELS } from '../image/decode.js';
import { openModel } from '../model/model-files.js';
import { InferenceEngine, type CropModeName, type InferenceResult } from './engine.js';
import { defaultMaxBatch, defaultMaxDelayMs } from './batching-defaults.js';
import { chooseProvider, type DeviceChoice } from './execution-providers.js';
import { startStatsLog } from './stats-log.js';
import { createLogger, type Logger } from './log.js';
import type { ClassifyRequest__Output } from './generated/alexnet/v1/ClassifyRequest.js';
import type { ClassifyResponse } from './generated/alexnet/v1/ClassifyResponse.js';
import type { ClassScore } from './generated/alexnet/v1/ClassScore.js';
import type { CropMode__Output as CropMode } from './generated/alexnet/v1/CropMode.js';
import type { EmbedRequest__Output } from './generated/alexnet/v1/EmbedRequest.js';
import type { EmbedResponse } from './generated/alexnet/v1/EmbedResponse.js';
import type { Embedding } from './generated/alexnet/v1/Embedding.js';
import type { ModelInfo } from './generated/alexnet/v1/ModelInfo.js';
import type { ModelRef } from './generated/alexnet/v1/ModelRef.js';
import { loadPackageDefinition, SERVICE_NAME, serviceClientConstructor } from './proto.js';
import { BadRequestError, toStatus } from './status.js';

/** What every call kind offers: peer, deadline, cancellation. */
interface SurfaceCall {
  cancelled: boolean;
  getDeadline(): grpc.Deadline;
  getPeer(): string;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

export interface ServeOptions {
  /** The single-crop .onnx file (or its .tencrop.onnx sibling): both are loaded. */
  model: string;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  device?: DeviceChoice;
  workers?: number;
  threads?: number;
  maxBatch?: number;
  maxDelayMs?: number;
  maxQueue?: number;
  /** Split a lone ten-crop image's crops across the free workers (default true). */
  splitLoneImages?: boolean;
  /** Largest request message (image bytes plus a few fields). */
  maxMessageBytes?: number;
  maxPixels?: number;
  maxConcurrentStreams?: number;
  maxConnectionAgeMs?: number;
  /** How long shutdown waits for calls in flight before closing connections. */
  graceMs?: number;
  /** Log a 'stats' line this often (event-loop lag, engine counters); absent or 0: off. */
  statsIntervalMs?: number;
  logger?: Logger;
  /** Called once the port is bound, before the model is loaded (health says NOT_SERVING until then). */
  onListening?: (port: number) => void;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 50051,
  maxQueue: 256,
  maxMessageBytes: 16 * 1024 * 1024,
  maxPixels: DEFAULT_MAX_PIXELS,
  maxConcurrentStreams: 256,
  maxConnectionAgeMs: 30 * 60 * 1000,
  graceMs: 10_000,
} as const;

/** Most items of one stream in the pipeline at once; the stream is paused beyond that. */
const STREAM_WINDOW = 64;

export interface RunningServer {
  address: string;
  port: number;
  info: ModelInfo;
  engine: InferenceEngine;
  /** Calls accepted and not yet answered. */
  readonly inFlight: number;
  /** Health NOT_SERVING, refuse new calls, let calls in flight finish (up to graceMs), close. */
  shutdown(reason?: string): Promise<void>;
}

function cropMode(crop: CropMode | undefined): CropModeName {
  return crop === 'CENTER' ? 'center' : 'ten';
}

function topK(probabilities: Float32Array, labels: string[], k: number): ClassScore[] {
  const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b]! - probabilities[a]!);
  return order.slice(0, k).map((index) => ({ index, label: labels[index] ?? String(index), probability: probabilities[index]! }));
}

function embedding(v: Float32Array, normalize: boolean): Embedding {
  let scale = 1;
  if (normalize) {
    let s = 0;
    for (const x of v) s += x * x;
    scale = s > 0 ? 1 / Math.sqrt(s) : 1;
  }
  return { vector: Array.from(v, (x) => x * scale), dimension: v.length, normalized: normalize };
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const o = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof SERVE_DEFAULTS & ServeOptions;
  const log = o.logger ?? createLogger('info');
  const opened = await openModel(o.model);
  const { singleCropPath: single, tenCropPath: ten, metadata: m } = opened;
  const provider = await chooseProvider(o.device ?? 'auto', log);
  const maxBatch = o.maxBatch ?? defaultMaxBatch(provider);
  const maxDelayMs = o.maxDelayMs ?? defaultMaxDelayMs(provider);
  const model: ModelRef = { name: opened.name, version: opened.version };

  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  const setHealth = (s: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', s);
    health.setStatus(SERVICE_NAME, s);
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.maxMessageBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
    'grpc.max_concurrent_streams': o.maxConcurrentStreams,
    'grpc.max_connection_age_ms': o.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': o.graceMs,
    'grpc-node.max_session_memory': 64,
  });
  const pkg = loadPackageDefinition();
  health.addToServer(server);
  // Reflection describes both services, so standard tools can call health checks too.
  new ReflectionService({ ...pkg, ...protoLoader.loadSync(healthProtoPath, { includeDirs: [path.dirname(healthProtoPath)] }) }).addToServer(server);

  let engine: InferenceEngine | undefined;
  let ready = false;
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const enter = () => {
    if (draining) throw new UnavailableError('the server is shutting down');
    if (!ready || !engine) throw new UnavailableError('the model is still loading');
    inFlight++;
  };
  const leave = () => {
    inFlight--;
    if (inFlight === 0) idle?.();
  };

  /** Decode and infer one image for a call; `call` supplies the deadline and cancellation. */
  const infer = async (bytes: Buffer, crop: CropMode, call: SurfaceCall): Promise<InferenceResult> => {
    if (!bytes || bytes.length === 0) throw new BadRequestError('image is empty: send the bytes of a JPEG, PNG or WebP file');
    const decoded = await decodeToSquare(bytes, { size: m.baseSize, maxPixels: o.maxPixels });
    if (call.cancelled) throw new CancelledError('the call was cancelled');
    const d = call.getDeadline();
    const deadline = d instanceof Date ? d.getTime() : Number.isFinite(d) ? d : Infinity;
    const cancelled = new AbortController();
    const onCancel = () => cancelled.abort();
    call.on('cancelled', onCancel);
    try {
      return await engine!.submit(decoded.data, cropMode(crop), { signal: cancelled.signal, deadline });
    } finally {
      call.removeListener('cancelled', onCancel);
    }
  };

  const checkTopK = (k: number) => {
    if (k > m.labels.length) throw new BadRequestError(`top_k ${k} is more than the model's ${m.labels.length} classes`);
    return k === 0 ? Math.min(5, m.labels.length) : k;
  };

  const classify = async (req: ClassifyRequest__Output, call: SurfaceCall): Promise<ClassifyResponse> => {
    const k = checkTopK(req.top_k ?? 0);
    const r = await infer(req.image, req.crop, call);
    return {
      classes: topK(r.probabilities, m.labels, k),
      model,
      embedding: req.include_embedding ? embedding(r.embedding, req.normalize_embedding) : null,
      request_id: req.request_id ?? '',
      error: null,
    };
  };
  const embed = async (req: EmbedRequest__Output, call: SurfaceCall): Promise<EmbedResponse> => {
    const k = req.top_k ? checkTopK(req.top_k) : 0;
    const r = await infer(req.image, req.crop, call);
    return { embedding: embedding(r.embedding, req.normalize), model, classes: k ? topK(r.probabilities, m.labels, k) : [], request_id: req.request_id ?? '', error: null };
  };

  const report = (method: string, e: unknown, started: number, peer: string) => {
    const s = toStatus(e);
    if (s.internal) log.error('call failed', { method, peer, cause: String((e as Error)?.stack ?? e) });
    else log.debug('call refused', { method, peer, code: grpc.status[s.code], details: s.details, ms: +(performance.now() - started).toFixed(2) });
    return s;
  };

  const unary =
    <Req, Res>(method: string, handler: (req: Req, call: SurfaceCall) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const started = performance.now();
      try {
        enter();
      } catch (e) {
        const s = report(method, e, started, call.getPeer());
        callback({ code: s.code, details: s.details });
        return;
      }
      handler(call.request, call).then(
        (res) => {
          log.debug('call', { method, peer: call.getPeer(), ms: +(performance.now() - started).toFixed(2) });
          callback(null, res);
        },
        (e: unknown) => {
          const s = report(method, e, started, call.getPeer());
          callback({ code: s.code, details: s.details });
        },
      ).finally(leave);
    };

  /** A bidirectional stream: items run concurrently (so they batch), answers go out in request order. */
  const stream =
    <Req extends { request_id?: string }, Res>(method: string, handler: (req: Req, call: SurfaceCall) => Promise<Res>, failed: (req: Req, code: number, message: string) => Res) =>
    (call: grpc.ServerDuplexStream<Req, Res>) => {
      const started = performance.now();
      try {
        enter();
      } catch (e) {
        const s = report(method, e, started, call.getPeer());
        call.destroy(Object.assign(new Error(s.details), { code: s.code, details: s.details }));
        return;
      }
      const pending: Promise<Res>[] = [];
      let writing = false;
      let ended = false;
      let closed = false;
      const finish = () => {
        if (closed) return;
        closed = true;
        leave();
      };
      const flush = async () => {
        if (writing) return;
        writing = true;
        while (pending.length > 0) {
          const res = await pending[0]!;
          pending.shift();
          if (!call.cancelled) call.write(res);
          if (pending.length < STREAM_WINDOW / 2 && call.isPaused()) call.resume();
        }
        writing = false;
        if (ended) {
          if (!call.cancelled) call.end();
          finish();
        }
      };
      call.on('data', (req: Req) => {
        pending.push(
          handler(req, call).catch((e: unknown) => {
            const s = report(method, e, performance.now(), call.getPeer());
            return failed(req, s.code, s.details);
          }),
        );
        if (pending.length >= STREAM_WINDOW) call.pause();
        void flush();
      });
      call.on('end', () => {
        ended = true;
        void flush();
      });
      call.on('cancelled', finish);
      call.on('error', finish);
    };

  server.addService(serviceClientConstructor().service, {
    Classify: unary('Classify', classify),
    Embed: unary('Embed', embed),
    ClassifyStream: stream<ClassifyRequest__Output, ClassifyResponse>('ClassifyStream', classify, (req, code, message) => ({
      classes: [],
      model,
      embedding: null,
      request_id: req.request_id ?? '',
      error: { code, message },
    })),
    EmbedStream: stream<EmbedRequest__Output, EmbedResponse>('EmbedStream', embed, (req, code, message) => ({
      embedding: null,
      model,
      classes: [],
      request_id: req.request_id ?? '',
      error: { code, message },
    })),
    GetModelInfo: (_call: grpc.ServerUnaryCall<unknown, ModelInfo>, callback: grpc.sendUnaryData<ModelInfo>) => callback(null, info),
  });

  const info: ModelInfo = {
    model,
    labels: m.labels,
    preset: m.preset,
    base_size: m.baseSize,
    input_size: m.inputSize,
    embedding_dimension: m.embeddingDimension,
    execution_provider: provider,
    format_version: m.formatVersion,
    max_batch_size: maxBatch,
    max_queue_delay_us: Math.round(maxDelayMs * 1000),
  };

  const host = o.host ?? SERVE_DEFAULTS.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(new ConfigError(`cannot listen on ${host}:${o.port}: ${listenProblem(e)}`)) : resolve(p))),
  );
  const address = `${host}:${port}`;
  o.onListening?.(port);
  // Health answers NOT_SERVING while the model loads and warms up.
  try {
    engine = await InferenceEngine.start({
      model: opened,
      provider,
      ...(o.workers ? { workers: o.workers } : {}),
      ...(o.threads ? { threads: o.threads } : {}),
      maxBatch,
      maxDelayMs,
      maxQueue: o.maxQueue,
      splitLoneImages: o.splitLoneImages ?? true,
    });
    await engine.warmUp(new Uint8Array(m.baseSize * m.baseSize * 3).fill(128));
  } catch (e) {
    server.forceShutdown();
    await engine?.close();
    throw e;
  }
  ready = true;
  setHealth('SERVING');
  log.info('serving', {
    address,
    model: single,
    tenCropModel: ten,
    version: model.version,
    preset: m.preset,
    classes: m.labels.length,
    provider,
    workers: engine.workers,
    threadsPerWorker: engine.threads,
    maxBatch,
    maxDelayMs,
    maxQueue: o.maxQueue,
    splitLoneImages: o.splitLoneImages ?? true,
  });
  const running = engine;
  // Totals since start (images that reached the model, batches); queued and inFlight: now.
  const stopStats = o.statsIntervalMs
    ? startStatsLog(o.statsIntervalMs, log, () => ({ inferred: running.stats.inferred, batches: running.stats.batches, split: running.stats.split, workerMs: Math.round(running.stats.workerMs), queued: running.queued, inFlight }))
    : undefined;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') => {
    shuttingDown ??= (async () => {
      log.info('shutting down', { reason, inFlight });
      stopStats?.();
      setHealth('NOT_SERVING');
      draining = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.graceMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (inFlight > 0) log.warn('grace period over: closing with calls in flight', { inFlight });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await engine!.close();
      log.info('stopped', { inferred: engine!.stats.inferred });
    })();
    return shuttingDown;
  };

  return {
    address,
    port,
    info,
    engine,
    get inFlight() {
      return inFlight;
    },
    shutdown,
  };
}

/** What a failed bind means for the user; grpc-js wraps the system error in a sentence of its own. */
function listenProblem(e: Error): string {
  if (/EADDRINUSE/.test(e.message)) return 'the port is already in use (another server running? choose another with --port)';
  if (/EACCES/.test(e.message)) return 'permission denied (ports below 1024 need privileges; choose another with --port)';
  if (/EADDRNOTAVAIL/.test(e.message)) return 'no such address on this machine (check --host)';
  return e.message;
}
