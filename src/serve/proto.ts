/** The service contract, loaded from proto/alexnet/v1/alexnet.proto (shared by server, client and tests). */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the package root (this file runs from dist/src/serve/). */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const PROTO_FILE = 'alexnet/v1/alexnet.proto';
export const SERVICE_NAME = 'alexnet.v1.AlexNet';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

export function loadPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS);
}

export type CropMode = 'CROP_MODE_UNSPECIFIED' | 'TEN_CROP' | 'CENTER';

export interface ClassScore {
  index: number;
  label: string;
  probability: number;
}
export interface ModelRef {
  name: string;
  version: string;
}
export interface ItemError {
  code: number;
  message: string;
}
export interface Embedding {
  vector: number[];
  dimension: number;
  normalized: boolean;
}
export interface ClassifyRequest {
  image: Buffer;
  top_k: number;
  crop: CropMode;
  include_embedding: boolean;
  normalize_embedding: boolean;
  request_id: string;
}
export interface ClassifyResponse {
  classes: ClassScore[];
  model: ModelRef | null;
  embedding: Embedding | null;
  request_id: string;
  error: ItemError | null;
}
export interface EmbedRequest {
  image: Buffer;
  normalize: boolean;
  crop: CropMode;
  top_k: number;
  request_id: string;
}
export interface EmbedResponse {
  embedding: Embedding | null;
  model: ModelRef | null;
  classes: ClassScore[];
  request_id: string;
  error: ItemError | null;
}
export interface ModelInfo {
  model: ModelRef;
  labels: string[];
  preset: string;
  base_size: number;
  input_size: number;
  embedding_dimension: number;
  execution_provider: string;
  format_version: number;
  max_batch_size: number;
  max_queue_delay_us: number;
}

/** The generated client constructor for alexnet.v1.AlexNet. */
export function serviceClientConstructor(): grpc.ServiceClientConstructor {
  const pkg = grpc.loadPackageDefinition(loadPackageDefinition()) as unknown as { alexnet: { v1: { AlexNet: grpc.ServiceClientConstructor } } };
  return pkg.alexnet.v1.AlexNet;
}
