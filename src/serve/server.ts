/**
 * The gRPC server: binding, grpc.health.v1 (health-service.ts), server reflection, drain and
 * shutdown. The services it serves are the modules in SERVICES (alexnet.v1.AlexNet, alexnet.v1.ImageSearch,
 * inference.GRPCInferenceService), each
 * built from the opened model and the engine; admission (UNAVAILABLE while not ready or shutting
 * down), call logs and the error-to-status mapping live in their adapters.
 *
 * Health says SERVING only after both models are loaded in every worker and a warm-up batch has
 * run, and only while a worker runs or can start (readiness.ts).
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import * as protoLoader from '@grpc/proto-loader';
import { ConfigError } from '../errors.js';
import { DEFAULT_MAX_PIXELS } from '../image/decode.js';
import type { ModelFiles } from '../model/model-files.js';
import type { VersionPolicy } from '../model/model-repository.js';
import { Admission } from './admission.js';
import { alexnetService, modelInfo } from './alexnet-service.js';
import { defaultMaxBatch, defaultMaxDelayMs } from './batching-defaults.js';
import { AuthTokens } from './auth-tokens.js';
import { callInterceptor, tolerantDeserializers } from './call-interceptor.js';
import type { InferenceEngine } from './engine.js';
import { kserveService } from './kserve-service.js';
import { chooseProvider, type DeviceChoice } from './execution-providers.js';
import type { ModelInfo } from './generated/alexnet/v1/ModelInfo.js';
import { createLogger, type Logger } from './log.js';
import { startHttpEndpoints, type HttpEndpoints } from './http-endpoints.js';
import { ServerMetrics } from './metrics.js';
import { ModelHost, type ReloadOutcome } from './model-host.js';
import { Readiness } from './readiness.js';
import { withMapEntryNames } from './reflection-map-entries.js';
import { modelSourceOf, watchSource } from './model-source.js';
import type { ServiceFactory, ServingEnv } from './service-descriptor.js';
import { searchService } from './search-service.js';
import { displayLocation } from './index/open-vector-index.js';
import { isLoopback, serverCredentials, type TlsFiles } from './server-tls.js';
import { startStatsLog } from './stats-log.js';
import { startWarmEngine } from './warm-engine.js';

/** The services served: one line per service module. */
const SERVICES: ServiceFactory[] = [alexnetService, searchService, kserveService];

export interface ServeOptions {
  /** The single-crop .onnx file (or its .tencrop.onnx sibling): both are loaded. */
  model?: string;
  /** Or a model repository, DIR/<name>/<version>/model.onnx (model-repository.ts). */
  modelDir?: string;
  /** The repository's model to serve (default: the only one there). */
  modelName?: string;
  /** The repository's version to serve (default: the latest). */
  modelVersion?: VersionPolicy;
  /** Reload by itself when the model's directory changes (reload() and SIGHUP work either way). */
  watchModels?: boolean;
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
  /** The inference workers' nice value (default 10: refusals and decodes are not queued behind batches on busy cores). */
  workerNice?: number;
  /** Largest request message (image bytes plus a few fields). */
  maxMessageBytes?: number;
  maxPixels?: number;
  /** The similarity index: a directory or a postgres:// URL (default: <model dir>/<model name>.index/). */
  index?: string;
  maxConcurrentStreams?: number;
  maxConnectionAgeMs?: number;
  /** How long shutdown waits for calls in flight before closing connections. */
  graceMs?: number;
  /** TLS (mTLS with a client CA) from these files, followed as they change; absent: plaintext. */
  tls?: TlsFiles;
  /** A file of bearer tokens (auth-tokens.ts): calls without one of them are refused UNAUTHENTICATED. */
  authTokens?: string;
  /** Serve /metrics, /healthz and /readyz over plaintext HTTP on this port (0 picks one); absent: no metrics recorded. */
  metricsPort?: number;
  /** The HTTP port's address (default: the gRPC host). */
  metricsHost?: string;
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
  workerNice: 10,
} as const;

export interface RunningServer {
  address: string;
  port: number;
  /** GetModelInfo's answer for the version serving now. */
  readonly info: ModelInfo;
  /** The engine of the version serving now. */
  readonly engine: InferenceEngine;
  /** Open the model's source again and serve what it names once loaded and warm (model-host.ts). */
  reload(reason?: string): Promise<ReloadOutcome>;
  /** Calls accepted and not yet answered. */
  readonly inFlight: number;
  /** The HTTP port of /metrics, /healthz, /readyz (when --metrics-port was given). */
  metricsPort?: number;
  /** Health NOT_SERVING, refuse new calls, let calls in flight finish (up to graceMs), close. */
  shutdown(reason?: string): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const o = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof SERVE_DEFAULTS & ServeOptions;
  const log = o.logger ?? createLogger('info');
  const source = await modelSourceOf(o);
  const opened = await source.open();
  const provider = await chooseProvider(o.device ?? 'auto', log);
  const maxBatch = o.maxBatch ?? defaultMaxBatch(provider);
  const maxDelayMs = o.maxDelayMs ?? defaultMaxDelayMs(provider);
  const admission = new Admission();
  let models: ModelHost | undefined;
  const currentModel = () => models?.current.model ?? opened;
  const metrics = o.metricsPort !== undefined ? new ServerMetrics({ model: currentModel, queued: () => models?.current.engine.queued ?? 0, inFlight: () => admission.inFlight }) : undefined;
  const tokens = o.authTokens ? AuthTokens.open(o.authTokens, log) : undefined;
  const credentials = serverCredentials(o.tls, log);
  const env: ServingEnv = {
    admission,
    log,
    get model() {
      return currentModel();
    },
    get ready() {
      return readiness.ready;
    },
    metrics,
    provider,
    maxBatch,
    maxDelayMs,
    maxPixels: o.maxPixels,
    maxQueue: o.maxQueue,
    index: o.index ?? source.defaultIndex,
    withModel: (f) => models!.with(f),
    reload: (reason) => reload(reason),
  };
  const services = SERVICES.map((service) => service(env));

  const names = ['', ...services.map((s) => s.name)];
  const readiness = new Readiness(names, admission, () => models?.current.engine.replacer.refusal);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.maxMessageBytes,
    // A SearchBatch of 256 queries of k 1000 is 256,000 hits: tens of MiB with ordinary uris.
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_concurrent_streams': o.maxConcurrentStreams,
    'grpc.max_connection_age_ms': o.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': o.graceMs,
    'grpc-node.max_session_memory': 64,
    // The call interceptor first (request ids, malformed messages, metrics of every status), then auth.
    interceptors: [callInterceptor({ metrics, model: currentModel, log }), ...(tokens ? [tokens.interceptor()] : [])],
  });
  readiness.health.addToServer(server);
  // Reflection describes every service, health included, so standard tools can call health checks too;
  // map fields' entries named as protoc names them, else grpcurl and Python refuse the whole package.
  const healthPackage = protoLoader.loadSync(healthProtoPath, { includeDirs: [path.dirname(healthProtoPath)] });
  new ReflectionService(withMapEntryNames(Object.assign({}, ...services.map((s) => s.packageDefinition), healthPackage))).addToServer(server);
  for (const s of services) server.addService(tolerantDeserializers(s.definition, s.packageDefinition), s.implementation);

  const host = o.host ?? SERVE_DEFAULTS.host;
  // An IPv6 host is written in brackets before its port ([::1]:50051), as clients take it.
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${hostPart}:${o.port}`, credentials, (e, p) => (e ? reject(new ConfigError(`cannot listen on ${hostPart}:${o.port}: ${listenProblem(e)}`)) : resolve(p))),
  );
  const address = `${hostPart}:${port}`;
  if (!isLoopback(host) && !o.tls && !tokens) log.warn('listening beyond this machine without TLS or tokens: anyone who reaches the port can call it (see --tls-cert, --auth-tokens)', { address });
  let http: HttpEndpoints | undefined;
  try {
    http = metrics ? await startHttpEndpoints({ host: o.metricsHost ?? host, port: o.metricsPort!, metrics, ready: () => readiness.ready }) : undefined;
  } catch (e) {
    server.forceShutdown();
    throw e;
  }
  o.onListening?.(port);
  // Health answers NOT_SERVING while the model loads and warms up.
  // Every version, the first and each reload's, starts its own workers and is warm before it serves.
  const startEngine = (model: ModelFiles): Promise<InferenceEngine> =>
    startWarmEngine(model, { provider, ...(o.workers ? { workers: o.workers } : {}), ...(o.threads ? { threads: o.threads } : {}), maxBatch, maxDelayMs, maxQueue: o.maxQueue, splitLoneImages: o.splitLoneImages ?? true, workerNice: o.workerNice, log, onRefusalChange: () => readiness.update(), ...(metrics ? { observer: metrics.observer(model) } : {}) });
  let engine: InferenceEngine;
  try {
    engine = await startEngine(opened);
  } catch (e) {
    server.forceShutdown();
    await http?.close();
    tokens?.close();
    throw e;
  }
  // Each reload counted by its result; health follows a version swapped in (it has its own workers).
  const modelHost = new ModelHost({ model: opened, engine }, startEngine, log, (outcome, serving) => (metrics?.reloaded(outcome.status, serving.model), readiness.update()));
  models = modelHost;
  const reload = (reason = 'reload') => modelHost.reload(() => source.open(), reason);
  const stopWatching = o.watchModels ? watchSource(source, () => void reload('model files changed'), 500, (msg, fields) => log.warn(msg, fields)) : undefined;
  admission.open();
  readiness.update();
  log.info('serving', {
    address,
    source: source.describe(),
    model: opened.singleCropPath,
    tenCropModel: opened.tenCropPath,
    version: opened.version,
    preset: opened.metadata.preset,
    classes: opened.metadata.labels.length,
    provider,
    workers: engine.workers,
    threadsPerWorker: engine.threads,
    maxBatch,
    maxDelayMs,
    maxQueue: o.maxQueue,
    splitLoneImages: o.splitLoneImages ?? true,
    watchModels: o.watchModels ?? false,
    tls: o.tls ? (o.tls.clientCa ? 'mutual' : 'server') : 'off',
    authTokens: tokens?.count ?? 0,
    index: displayLocation(env.index),
    metricsPort: http?.port,
  });
  const running = () => modelHost.current.engine;
  // Totals of the version serving (since start, or since its reload); queued and inFlight: now.
  const stopStats = o.statsIntervalMs
    ? startStatsLog(o.statsIntervalMs, log, () => ({ inferred: running().stats.inferred, batches: running().stats.batches, split: running().stats.split, workerMs: Math.round(running().stats.workerMs), queued: running().queued, inFlight: admission.inFlight }))
    : undefined;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') => {
    shuttingDown ??= (async () => {
      log.info('shutting down', { reason, inFlight: admission.inFlight });
      stopStats?.();
      stopWatching?.();
      readiness.stop();
      await admission.drain(o.graceMs);
      if (admission.inFlight > 0) log.warn('grace period over: closing with calls in flight', { inFlight: admission.inFlight });
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
      const inferred = running().stats.inferred;
      // Batches already running finish (a worker ended mid-run aborts the process: worker-stop.ts); nothing new starts.
      log.info('closing the model', { batchesRunning: running().running });
      await modelHost.close();
      await Promise.all(services.map((s) => s.close?.()));
      await http?.close();
      tokens?.close();
      log.info('stopped', { inferred });
    })();
    return shuttingDown;
  };
  // A service's own health (ImageSearch: its index's) from here on, with the server's; shutdown's NOT_SERVING is final.
  for (const s of services) s.start?.((serving) => readiness.setOwn(s.name, serving));

  return {
    address,
    port,
    ...(http ? { metricsPort: http.port } : {}),
    get info() {
      return modelInfo(env);
    },
    get engine() {
      return running();
    },
    reload,
    get inFlight() {
      return admission.inFlight;
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
