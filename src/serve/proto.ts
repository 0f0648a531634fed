/**
 * The service contracts, loaded from proto/alexnet/v1/alexnet.proto, search.proto and
 * inference/grpc_service.proto (KServe v2; shared by server, client and tests). The message types are generated from the same file with the same loader options
 * (`npm run proto:types` writes src/serve/generated/; a unit test checks they are current).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/alexnet.js';
import type { ProtoGrpcType as KServeProtoGrpcType } from './generated/grpc_service.js';
import type { ProtoGrpcType as SearchProtoGrpcType } from './generated/search.js';

/** proto/ at the package root (this file runs from dist/src/serve/). */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const PROTO_FILE = 'alexnet/v1/alexnet.proto';
export const SERVICE_NAME = 'alexnet.v1.AlexNet';
export const SEARCH_PROTO_FILE = 'alexnet/v1/search.proto';
export const SEARCH_SERVICE_NAME = 'alexnet.v1.ImageSearch';
export const KSERVE_PROTO_FILE = 'inference/grpc_service.proto';
export const KSERVE_SERVICE_NAME = 'inference.GRPCInferenceService';

/** Keep in step with the flags of the `proto:types` script in package.json (the unit test compares them). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

export function loadPackageDefinition(file = PROTO_FILE): protoLoader.PackageDefinition {
  return protoLoader.loadSync(file, LOADER_OPTIONS);
}

/** The generated client constructor for alexnet.v1.AlexNet (its `service` is the server's service definition). */
export function serviceClientConstructor(): ProtoGrpcType['alexnet']['v1']['AlexNet'] {
  const pkg = grpc.loadPackageDefinition(loadPackageDefinition()) as unknown as ProtoGrpcType;
  return pkg.alexnet.v1.AlexNet;
}

/** The generated client constructor for alexnet.v1.ImageSearch. */
export function searchClientConstructor(): SearchProtoGrpcType['alexnet']['v1']['ImageSearch'] {
  const pkg = grpc.loadPackageDefinition(loadPackageDefinition(SEARCH_PROTO_FILE)) as unknown as SearchProtoGrpcType;
  return pkg.alexnet.v1.ImageSearch;
}

/** The generated client constructor for inference.GRPCInferenceService (KServe v2 and Triton's calls). */
export function kserveClientConstructor(): KServeProtoGrpcType['inference']['GRPCInferenceService'] {
  const pkg = grpc.loadPackageDefinition(loadPackageDefinition(KSERVE_PROTO_FILE)) as unknown as KServeProtoGrpcType;
  return pkg.inference.GRPCInferenceService;
}
