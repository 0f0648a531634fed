/**
 * inference.GRPCInferenceService: the KServe v2 / Open Inference Protocol (and the calls of
 * Triton's superset its tools need) beside alexnet.v1.AlexNet, on the same port, through the same
 * adapters, admission, batching and limits. ModelInfer runs each encoded image through the shared
 * decode-and-infer step (as Classify does, ten crops) and each decoded `pixels` image straight to
 * the engine; one call holds one version. Tensor parsing and encoding: kserve-tensors.ts.
 *
 * Liveness, readiness (readiness.ts: false while no inference worker runs and none can start
 * too), metadata, config, statistics and the repository index answer in any state;
 * ModelInfer, ModelStreamInfer and RepositoryModelLoad are admitted as every other inference call is.
 */
import * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { FailedPreconditionError, ImageTooLargeError, InvalidImageError, NotFoundError } from '../errors.js';
import type { ModelFiles } from '../model/model-files.js';
import type { CallContext } from './call-context.js';
import type { InferenceResult } from './engine.js';
import type { DataType } from './generated/inference/DataType.js';
import type { GRPCInferenceServiceHandlers } from './generated/inference/GRPCInferenceService.js';
import type { ModelConfigRequest__Output } from './generated/inference/ModelConfigRequest.js';
import type { ModelConfigResponse } from './generated/inference/ModelConfigResponse.js';
import type { ModelInferRequest__Output } from './generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from './generated/inference/ModelInferResponse.js';
import type { ModelMetadataRequest__Output } from './generated/inference/ModelMetadataRequest.js';
import type { ModelMetadataResponse } from './generated/inference/ModelMetadataResponse.js';
import type { ModelReadyRequest__Output } from './generated/inference/ModelReadyRequest.js';
import type { ModelStatistics } from './generated/inference/ModelStatistics.js';
import type { ModelStatisticsRequest__Output } from './generated/inference/ModelStatisticsRequest.js';
import type { ModelStatisticsResponse } from './generated/inference/ModelStatisticsResponse.js';
import type { ModelStreamInferResponse } from './generated/inference/ModelStreamInferResponse.js';
import type { RepositoryIndexRequest__Output } from './generated/inference/RepositoryIndexRequest.js';
import type { RepositoryIndexResponse } from './generated/inference/RepositoryIndexResponse.js';
import type { RepositoryModelLoadRequest__Output } from './generated/inference/RepositoryModelLoadRequest.js';
import type { RepositoryModelLoadResponse } from './generated/inference/RepositoryModelLoadResponse.js';
import type { RepositoryModelUnloadRequest__Output } from './generated/inference/RepositoryModelUnloadRequest.js';
import type { RepositoryModelUnloadResponse } from './generated/inference/RepositoryModelUnloadResponse.js';
import type { ServerMetadataResponse } from './generated/inference/ServerMetadataResponse.js';
import { inferImage } from './image-inference.js';
import { encodeOutputs, MAX_IMAGES_PER_REQUEST, parseInput, parseOutputs, tensorsOf, type ParsedInput } from './kserve-tensors.js';
import type { Served } from './model-host.js';
import { KSERVE_PROTO_FILE, KSERVE_SERVICE_NAME, kserveClientConstructor, loadPackageDefinition } from './proto.js';
import type { ServiceDescriptor, ServingEnv } from './service-descriptor.js';
import { BadRequestError } from './status.js';
import { streamAdapter } from './stream-adapter.js';
import { unaryAdapter } from './unary-adapter.js';

/** Triton's name for an ONNX model run by onnxruntime. */
export const PLATFORM = 'onnxruntime_onnx';
const SERVER_NAME = 'alexnet';
const { version: SERVER_VERSION } = createRequire(import.meta.url)('../../../package.json') as { version: string };

/** The model named `name` (and `version`, unless empty), or NotFoundError. */
function checkModel(name: string, version: string, model: ModelFiles): void {
  if (name !== model.name) throw new NotFoundError(`no model ${JSON.stringify(name)}: this server serves ${JSON.stringify(model.name)}`);
  if (version !== '' && version !== model.version) throw new NotFoundError(`model ${model.name} has no version ${JSON.stringify(version)} serving: version ${JSON.stringify(model.version)} is (leave the version empty for it)`);
}

/** ModelInfer's own counts for one model version (Triton's InferStatistics success and fail). */
interface Counters {
  success: { count: number; ns: number };
  fail: { count: number; ns: number };
  /** Images answered (a request of N images counts N). */
  inferences: number;
  /** Of answered requests: reading the input tensors and decoding their images (the decodes' times summed), and encoding the outputs. */
  input: { count: number; ns: number };
  output: { count: number; ns: number };
  /** Date.now() of the last answered request; 0 before any. */
  last: number;
}

const nsSince = (started: number) => Math.round((performance.now() - started) * 1e6);

export function kserveHandlers(env: ServingEnv) {
  const counters = new Map<string, Counters>();
  const countersOf = (version: string): Counters => {
    let c = counters.get(version);
    if (!c) counters.set(version, (c = { success: { count: 0, ns: 0 }, fail: { count: 0, ns: 0 }, inferences: 0, last: 0, input: { count: 0, ns: 0 }, output: { count: 0, ns: 0 } }));
    return c;
  };

  /** Every image of the input through `served`; a bad element's error names it. */
  const infer = (served: Served, input: ParsedInput, context: CallContext, onDecoded: (ms: number) => void): Promise<InferenceResult[]> => {
    if (input.kind === 'pixels') return Promise.all(input.pixels.map((px) => served.engine.submit(px, 'ten', { signal: context.signal, deadline: context.deadline })));
    return Promise.all(
      input.images.map((bytes, i) =>
        inferImage(env, served, bytes, 'ten', context, onDecoded).catch((e: unknown) => {
          if (input.images.length > 1 && (e instanceof InvalidImageError || e instanceof ImageTooLargeError || e instanceof BadRequestError)) e.message = `images[${i}]: ${e.message}`;
          throw e;
        }),
      ),
    );
  };

  const modelInfer = (req: ModelInferRequest__Output, context: CallContext): Promise<ModelInferResponse> =>
    env.withModel(async (served) => {
      const started = performance.now();
      checkModel(req.model_name, req.model_version, served.model);
      const c = countersOf(served.model.version);
      try {
        const meta = served.model.metadata;
        const parsing = performance.now();
        const { input, raw } = parseInput(req, meta.baseSize);
        // More images than the queue holds would be refused as "busy" however long the caller waits.
        const n = input.kind === 'images' ? input.images.length : input.pixels.length;
        if (n > env.maxQueue) throw new BadRequestError(`${n} images in one request, more than this server's queue of ${env.maxQueue} (--max-queue): send at most ${env.maxQueue} per request`);
        const outputs = parseOutputs(req, meta.labels.length);
        let inputNs = nsSince(parsing);
        const results = await infer(served, input, context, (ms) => (inputNs += Math.round(ms * 1e6)));
        const encoding = performance.now();
        const encoded = encodeOutputs(results, outputs, meta.labels, raw);
        c.output.count++;
        c.output.ns += nsSince(encoding);
        c.input.count++;
        c.input.ns += inputNs;
        c.success.count++;
        c.success.ns += nsSince(started);
        c.inferences += results.length;
        c.last = Date.now();
        return { model_name: served.model.name, model_version: served.model.version, id: req.id, ...encoded };
      } catch (e) {
        c.fail.count++;
        c.fail.ns += nsSince(started);
        throw e;
      }
    });

  const modelMetadata = async (req: ModelMetadataRequest__Output): Promise<ModelMetadataResponse> => {
    const model = env.model;
    checkModel(req.name, req.version, model);
    const { inputs, outputs } = tensorsOf(model.metadata);
    const describe = (t: { name: string; datatype: string; dims: number[] }) => ({ name: t.name, datatype: t.datatype, shape: [-1, ...t.dims] });
    return { name: model.name, versions: [model.version], platform: PLATFORM, inputs: inputs.map(describe), outputs: outputs.map(describe) };
  };

  const modelConfig = async (req: ModelConfigRequest__Output): Promise<ModelConfigResponse> => {
    const model = env.model;
    checkModel(req.name, req.version, model);
    const { inputs, outputs } = tensorsOf(model.metadata);
    // Triton's config calls BYTES TYPE_STRING.
    const type = (d: string): DataType => (d === 'BYTES' ? 'TYPE_STRING' : (`TYPE_${d}` as DataType));
    return {
      config: {
        name: model.name,
        platform: PLATFORM,
        backend: 'onnxruntime',
        // Triton's meaning: the most images one request may hold; the engine's own batch is the preferred size.
        max_batch_size: Math.min(MAX_IMAGES_PER_REQUEST, env.maxQueue),
        input: inputs.map((t) => ({ name: t.name, data_type: type(t.datatype), format: t.name === 'pixels' ? 'FORMAT_NHWC' : 'FORMAT_NONE', dims: t.dims })),
        output: outputs.map((t) => ({ name: t.name, data_type: type(t.datatype), dims: t.dims, label_filename: '' })),
        dynamic_batching: { preferred_batch_size: [env.maxBatch], max_queue_delay_microseconds: Math.round(env.maxDelayMs * 1000), preserve_ordering: false },
      },
    };
  };

  /** The serving version's counts: ModelInfer's own, and the engine's (shared by every service on that version). */
  const modelStatistics = async (req: ModelStatisticsRequest__Output): Promise<ModelStatisticsResponse> => {
    const model = env.model;
    if (req.name !== '') checkModel(req.name, req.version, model);
    else if (req.version !== '') throw new BadRequestError('a version without a model name: name the model too');
    const engine = env.admission.opened ? await env.withModel(async (s) => ({ ...s.engine.stats })) : undefined;
    const c = countersOf(model.version);
    const zero = { count: 0, ns: 0 };
    const stats: ModelStatistics = {
      name: model.name,
      version: model.version,
      last_inference: c.last,
      inference_count: c.inferences,
      execution_count: engine?.batches ?? 0,
      inference_stats: {
        success: { ...c.success },
        fail: { ...c.fail },
        queue: engine ? { count: engine.inferred, ns: Math.round(engine.queueMs * 1e6) } : zero,
        compute_input: { ...c.input },
        compute_infer: engine ? { count: engine.inferred, ns: Math.round(engine.workerMs * 1e6) } : zero,
        compute_output: { ...c.output },
        cache_hit: zero,
        cache_miss: zero,
      },
      batch_stats: [],
    };
    return { model_stats: [stats] };
  };

  const repositoryIndex = async (req: RepositoryIndexRequest__Output): Promise<RepositoryIndexResponse> => {
    const model = env.model;
    const ready = env.ready;
    if (req.ready && !ready) return { models: [] };
    const state = ready ? 'READY' : env.admission.opened ? 'UNAVAILABLE' : 'LOADING';
    const reason = ready ? '' : env.admission.accepting ? 'no inference worker is running: they ended and could not be started again' : env.admission.opened ? 'the server is shutting down' : 'the model is still loading';
    return { models: [{ name: model.name, version: model.version, state, reason }] };
  };

  const repositoryModelLoad = async (req: RepositoryModelLoadRequest__Output): Promise<RepositoryModelLoadResponse> => {
    const model = env.model;
    checkModel(req.model_name, '', model);
    const keys = Object.keys(req.parameters);
    if (keys.length > 0) throw new BadRequestError(`parameters ${keys.join(', ')} are not taken: this server loads the model again from its source (--model or --model-dir)`);
    if (!env.reload) throw new FailedPreconditionError('this server cannot reload its model');
    const outcome = await env.reload('RepositoryModelLoad');
    if (outcome.status === 'failed') throw new FailedPreconditionError(`loading version ${outcome.version} failed: ${outcome.error}; version ${model.version} keeps serving`);
    return {};
  };

  const repositoryModelUnload = async (req: RepositoryModelUnloadRequest__Output): Promise<RepositoryModelUnloadResponse> => {
    const model = env.model;
    checkModel(req.model_name, '', model);
    throw new FailedPreconditionError(`this server serves one model, ${model.name}, and does not unload it: stop the server (SIGTERM drains it), or publish another version and load it`);
  };

  return {
    serverLive: async () => ({ live: true }),
    serverReady: async () => ({ ready: env.ready }),
    modelReady: async (req: ModelReadyRequest__Output) => {
      const m = env.model;
      return { ready: env.ready && req.name === m.name && (req.version === '' || req.version === m.version) };
    },
    serverMetadata: async (): Promise<ServerMetadataResponse> => ({
      name: SERVER_NAME,
      version: SERVER_VERSION,
      extensions: ['classification', 'model_configuration', 'statistics', ...(env.reload ? ['model_repository'] : [])],
    }),
    modelMetadata,
    modelInfer,
    modelConfig,
    modelStatistics,
    repositoryIndex,
    repositoryModelLoad,
    repositoryModelUnload,
  };
}

export function kserveService(env: ServingEnv): ServiceDescriptor {
  const h = kserveHandlers(env);
  const anyState = { admitted: false };
  const implementation: GRPCInferenceServiceHandlers = {
    ServerLive: unaryAdapter(env, 'ServerLive', h.serverLive, anyState),
    ServerReady: unaryAdapter(env, 'ServerReady', h.serverReady, anyState),
    ModelReady: unaryAdapter(env, 'ModelReady', h.modelReady, anyState),
    ServerMetadata: unaryAdapter(env, 'ServerMetadata', h.serverMetadata, anyState),
    ModelMetadata: unaryAdapter(env, 'ModelMetadata', h.modelMetadata, anyState),
    ModelConfig: unaryAdapter(env, 'ModelConfig', h.modelConfig, anyState),
    ModelStatistics: unaryAdapter(env, 'ModelStatistics', h.modelStatistics, anyState),
    RepositoryIndex: unaryAdapter(env, 'RepositoryIndex', h.repositoryIndex, anyState),
    ModelInfer: unaryAdapter(env, 'ModelInfer', h.modelInfer),
    // Each request as ModelInfer answers it, in order; a failed one answers its status in
    // error_message (Triton's form) with the request's ids, and the stream goes on.
    ModelStreamInfer: streamAdapter(
      env,
      'ModelStreamInfer',
      async (req: ModelInferRequest__Output, context): Promise<ModelStreamInferResponse> => ({ error_message: '', infer_response: await h.modelInfer(req, context) }),
      (req, s) => ({ error_message: `${grpc.status[s.code]}: ${s.details}`, infer_response: { model_name: req.model_name, model_version: req.model_version, id: req.id } }),
    ),
    RepositoryModelLoad: unaryAdapter(env, 'RepositoryModelLoad', h.repositoryModelLoad),
    RepositoryModelUnload: unaryAdapter(env, 'RepositoryModelUnload', h.repositoryModelUnload, anyState),
  };
  return { name: KSERVE_SERVICE_NAME, definition: kserveClientConstructor().service, implementation, packageDefinition: loadPackageDefinition(KSERVE_PROTO_FILE) };
}
