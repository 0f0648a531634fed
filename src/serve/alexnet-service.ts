/**
 * alexnet.v1.AlexNet: Classify, Embed (and their streams, which run the same handlers item by
 * item) and GetModelInfo, as plain async functions that throw typed errors (status.ts maps them).
 * Each image is decoded by the shared image module (sharp, on libuv's pool, off the event loop),
 * then one job for the engine, which batches it with other calls' images.
 */
import type { ModelFiles } from '../model/model-files.js';
import type { CallContext } from './call-context.js';
import type { CropModeName } from './engine.js';
import type { AlexNetHandlers } from './generated/alexnet/v1/AlexNet.js';
import type { ClassifyRequest__Output } from './generated/alexnet/v1/ClassifyRequest.js';
import type { ClassifyResponse } from './generated/alexnet/v1/ClassifyResponse.js';
import type { ClassScore } from './generated/alexnet/v1/ClassScore.js';
import type { CropMode__Output } from './generated/alexnet/v1/CropMode.js';
import type { EmbedRequest__Output } from './generated/alexnet/v1/EmbedRequest.js';
import type { EmbedResponse } from './generated/alexnet/v1/EmbedResponse.js';
import type { Embedding } from './generated/alexnet/v1/Embedding.js';
import type { ModelInfo } from './generated/alexnet/v1/ModelInfo.js';
import type { ModelRef } from './generated/alexnet/v1/ModelRef.js';
import { inferImage } from './image-inference.js';
import { loadPackageDefinition, SERVICE_NAME, serviceClientConstructor } from './proto.js';
import type { ServiceDescriptor, ServingEnv } from './service-descriptor.js';
import { BadRequestError, type MappedStatus } from './status.js';
import { streamAdapter } from './stream-adapter.js';
import { unaryAdapter } from './unary-adapter.js';

function cropMode(crop: CropMode__Output | undefined): CropModeName {
  return crop === 'CENTER' ? 'center' : 'ten';
}

function topK(probabilities: Float32Array, metadata: { labels: string[]; classIds?: string[] }, k: number): ClassScore[] {
  const { labels, classIds = labels } = metadata;
  const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b]! - probabilities[a]!);
  return order.slice(0, k).map((index) => ({ index, label: labels[index] ?? String(index), probability: probabilities[index]!, class_id: classIds[index] ?? String(index) }));
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

export function modelRef(model: ModelFiles): ModelRef {
  return { name: model.name, version: model.version };
}

/** What GetModelInfo answers. */
export function modelInfo(env: Pick<ServingEnv, 'model' | 'provider' | 'maxBatch' | 'maxDelayMs'>): ModelInfo {
  const m = env.model.metadata;
  return {
    model: modelRef(env.model),
    labels: m.labels,
    class_ids: m.classIds ?? m.labels,
    preset: m.preset,
    base_size: m.baseSize,
    input_size: m.inputSize,
    embedding_dimension: m.embeddingDimension,
    execution_provider: env.provider,
    format_version: m.formatVersion,
    max_batch_size: env.maxBatch,
    max_queue_delay_us: Math.round(env.maxDelayMs * 1000),
  };
}

/** A stream item that has no answer: its request_id, the model and the error; every other field its default. */
export function failedItem(req: { request_id?: string }, model: ModelRef, status: Pick<MappedStatus, 'code' | 'details'>): ClassifyResponse & EmbedResponse {
  return { request_id: req.request_id ?? '', model, error: { code: status.code, message: status.details } };
}

export function alexnetHandlers(env: ServingEnv) {
  const checkTopK = (k: number, labels: string[]) => {
    if (k > labels.length) throw new BadRequestError(`top_k ${k} is more than the model's ${labels.length} classes`);
    return k === 0 ? Math.min(5, labels.length) : k;
  };

  // Each call holds one version from its first check to its answer (a reload may swap versions meanwhile).
  return {
    classify: (req: ClassifyRequest__Output, context: CallContext): Promise<ClassifyResponse> =>
      env.withModel(async (served) => {
        const labels = served.model.metadata.labels;
        const k = checkTopK(req.top_k ?? 0, labels);
        const r = await inferImage(env, served, req.image, cropMode(req.crop), context);
        return {
          classes: topK(r.probabilities, served.model.metadata, k),
          model: modelRef(served.model),
          embedding: req.include_embedding ? embedding(r.embedding, req.normalize_embedding) : null,
          request_id: req.request_id ?? '',
          error: null,
        };
      }),
    embed: (req: EmbedRequest__Output, context: CallContext): Promise<EmbedResponse> =>
      env.withModel(async (served) => {
        const labels = served.model.metadata.labels;
        const k = req.top_k ? checkTopK(req.top_k, labels) : 0;
        const r = await inferImage(env, served, req.image, cropMode(req.crop), context);
        return { embedding: embedding(r.embedding, req.normalize), model: modelRef(served.model), classes: k ? topK(r.probabilities, served.model.metadata, k) : [], request_id: req.request_id ?? '', error: null };
      }),
    async getModelInfo(): Promise<ModelInfo> {
      return modelInfo(env);
    },
  };
}

export function alexnetService(env: ServingEnv): ServiceDescriptor {
  const h = alexnetHandlers(env);
  const failed = (req: { request_id?: string }, s: MappedStatus) => failedItem(req, modelRef(env.model), s);
  const implementation: AlexNetHandlers = {
    Classify: unaryAdapter(env, 'Classify', h.classify),
    Embed: unaryAdapter(env, 'Embed', h.embed),
    ClassifyStream: streamAdapter(env, 'ClassifyStream', h.classify, failed),
    EmbedStream: streamAdapter(env, 'EmbedStream', h.embed, failed),
    GetModelInfo: unaryAdapter(env, 'GetModelInfo', h.getModelInfo, { admitted: false }),
  };
  return { name: SERVICE_NAME, definition: serviceClientConstructor().service, implementation, packageDefinition: loadPackageDefinition() };
}
