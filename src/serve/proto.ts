/**
 * The service contract, loaded from proto/alexnet/v1/alexnet.proto (shared by server, client and
 * tests). The message types are generated from the same file with the same loader options
 * (`npm run proto:types` writes src/serve/generated/; a unit test checks they are current).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/alexnet.js';

/** proto/ at the package root (this file runs from dist/src/serve/). */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const PROTO_FILE = 'alexnet/v1/alexnet.proto';
export const SERVICE_NAME = 'alexnet.v1.AlexNet';

/** Keep in step with the flags of the `proto:types` script in package.json (the unit test compares them). */
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

/** The generated client constructor for alexnet.v1.AlexNet (its `service` is the server's service definition). */
export function serviceClientConstructor(): ProtoGrpcType['alexnet']['v1']['AlexNet'] {
  const pkg = grpc.loadPackageDefinition(loadPackageDefinition()) as unknown as ProtoGrpcType;
  return pkg.alexnet.v1.AlexNet;
}
