/**
 * The server's Prometheus metrics (prom-client, a registry of the server's own): what
 * `--metrics-port` serves on /metrics. Recorded on the main thread only: the workers report each
 * batch's time with its answer (engine observer), the call interceptor reports each call's
 * status and duration, image-inference.ts each decode.
 *
 * Histograms, not only counters, so a p99 can be read from them. Every alexnet_* series is
 * labelled with the model's name and version (the version that served the work; the process's
 * own series, alexnet_process_* and alexnet_nodejs_*, event-loop lag among them, are not).
 * Names follow what users of gRPC and Triton know: grpc_server_handled_total by method and code,
 * grpc_server_handling_seconds; queue, decode and inference durations split out.
 *
 * Model reloads (SIGHUP, --watch-models, RepositoryModelLoad) are counted by result, labelled
 * with the model's name only: a reload spans two versions, and a counter per version would
 * start each new version's series at 1, which rate() and increase() miss.
 */
import * as grpc from '@grpc/grpc-js';
import client from 'prom-client';
import type { BatchObserver, BatchReport } from './engine-options.js';
import type { ReloadOutcome } from './model-host.js';

/** A model as the labels name it. */
export interface ModelLabels {
  name: string;
  version: string;
}

/** Latency buckets in seconds, 0.5 ms to 20 s. */
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];
const BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const MODEL = ['model', 'version'] as const;
/** What a reload can end in (ReloadOutcome's status): the only values of the `result` label. */
const RELOAD_RESULTS: readonly ReloadOutcome['status'][] = ['loaded', 'unchanged', 'failed'];

/** What the gauges read when scraped. */
export interface MetricsSources {
  /** The version serving now. */
  model(): ModelLabels;
  /** Images waiting for a worker in the version serving now. */
  queued(): number;
  /** Calls admitted and not yet answered. */
  inFlight(): number;
}

export class ServerMetrics {
  readonly registry = new client.Registry();
  private readonly handled: client.Counter<string>;
  private readonly handling: client.Histogram<string>;
  private readonly queue: client.Histogram<string>;
  private readonly decode: client.Histogram<string>;
  private readonly inference: client.Histogram<string>;
  private readonly batchSize: client.Histogram<string>;
  private readonly images: client.Counter<string>;
  private readonly crops: client.Counter<string>;
  private readonly busy: client.Counter<string>;
  private readonly reloads: client.Counter<string>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const labelsNow = () => {
      const m = sources.model();
      return { model: m.name, version: m.version };
    };
    this.handled = new client.Counter({ name: 'alexnet_grpc_server_handled_total', help: 'Calls answered, by service, method and gRPC status code (refusals by auth, admission and overload included).', labelNames: ['grpc_service', 'grpc_method', 'grpc_code', ...MODEL], registers });
    this.handling = new client.Histogram({ name: 'alexnet_grpc_server_handling_seconds', help: 'Seconds from a call arriving to its status being sent (a stream: the whole stream).', labelNames: ['grpc_service', 'grpc_method', ...MODEL], buckets: SECONDS, registers });
    this.queue = new client.Histogram({ name: 'alexnet_queue_seconds', help: 'Seconds each image waited in the queue for a worker (the batching delay included).', labelNames: MODEL, buckets: SECONDS, registers });
    this.decode = new client.Histogram({ name: 'alexnet_decode_seconds', help: 'Seconds decoding each image (sharp), failed decodes included.', labelNames: MODEL, buckets: SECONDS, registers });
    this.inference = new client.Histogram({ name: 'alexnet_inference_seconds', help: 'Seconds a worker spent on each batch (onnxruntime, cropping included), as the worker measured it.', labelNames: [...MODEL, 'mode'], buckets: SECONDS, registers });
    this.batchSize = new client.Histogram({ name: 'alexnet_batch_size', help: 'Images per batch sent to a worker (a lone image split across workers: 1 per part).', labelNames: [...MODEL, 'mode'], buckets: BATCH_SIZES, registers });
    this.images = new client.Counter({ name: 'alexnet_images_inferred_total', help: 'Images answered by the model.', labelNames: [...MODEL, 'mode'], registers });
    this.crops = new client.Counter({ name: 'alexnet_crops_inferred_total', help: 'Crops run through the network (ten per image in ten-crop mode).', labelNames: [...MODEL, 'mode'], registers });
    this.busy = new client.Counter({ name: 'alexnet_worker_busy_seconds_total', help: 'Seconds the inference workers spent in batches, summed over workers.', labelNames: MODEL, registers });
    this.reloads = new client.Counter({ name: 'alexnet_model_reloads_total', help: 'Model reloads (SIGHUP, --watch-models, RepositoryModelLoad) by result: loaded (a new version swapped in), unchanged (already serving what the source names), failed (refused: the previous version keeps serving).', labelNames: ['model', 'result'], registers });
    // Each result there from the start at 0, so the first failed reload is an increase.
    for (const result of RELOAD_RESULTS) this.reloads.inc({ model: sources.model().name, result }, 0);
    new client.Gauge({
      name: 'alexnet_queue_depth',
      help: 'Images waiting for a worker now.',
      labelNames: MODEL,
      registers,
      collect() {
        this.reset();
        this.set(labelsNow(), sources.queued());
      },
    });
    new client.Gauge({
      name: 'alexnet_in_flight',
      help: 'Calls admitted and not yet answered now.',
      labelNames: MODEL,
      registers,
      collect() {
        this.reset();
        this.set(labelsNow(), sources.inFlight());
      },
    });
    new client.Gauge({
      name: 'alexnet_model_info',
      help: 'The model version serving now (value 1).',
      labelNames: MODEL,
      registers,
      collect() {
        this.reset();
        this.set(labelsNow(), 1);
      },
    });
    client.collectDefaultMetrics({ register: this.registry, prefix: 'alexnet_' });
  }

  /** A call's status was sent: `path` is its gRPC path (/package.Service/Method). */
  callHandled(path: string, code: grpc.status, seconds: number, model: ModelLabels): void {
    const at = path.lastIndexOf('/');
    const service = path.slice(1, at);
    const method = path.slice(at + 1);
    const labels = { grpc_service: service, grpc_method: method, model: model.name, version: model.version };
    this.handled.inc({ ...labels, grpc_code: grpc.status[code] ?? String(code) });
    this.handling.observe(labels, seconds);
  }

  /** A reload ended in `result`; `model`: the version serving once it ended. */
  reloaded(result: ReloadOutcome['status'], model: ModelLabels): void {
    this.reloads.inc({ model: model.name, result });
  }

  decoded(model: ModelLabels, ms: number): void {
    this.decode.observe({ model: model.name, version: model.version }, ms / 1000);
  }

  /** The engine observer of one version: what its workers report, labelled with it. */
  observer(model: ModelLabels): BatchObserver {
    const m = { model: model.name, version: model.version };
    return {
      batch: (r: BatchReport) => {
        const withMode = { ...m, mode: r.mode };
        for (const q of r.queuedMs) this.queue.observe(m, q / 1000);
        this.inference.observe(withMode, r.workerMs / 1000);
        this.batchSize.observe(withMode, r.mode === 'part' ? 1 : r.images);
        if (r.images > 0) this.images.inc(withMode, r.images);
        this.crops.inc(withMode, r.crops);
        this.busy.inc(m, r.workerMs / 1000);
      },
    };
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
