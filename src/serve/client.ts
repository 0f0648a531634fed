/** A small promise-based client of alexnet.v1.AlexNet (the CLI's classify/embed, tests, the load client). */
import * as grpc from '@grpc/grpc-js';
import { callMetadata, channelCredentials, channelOptions, streamOptions, unaryCall, type CallOptions, type ClientSecurity } from './client-call.js';
import { channelTarget } from './fleet-config.js';
import type { AlexNetClient as GeneratedClient } from './generated/alexnet/v1/AlexNet.js';
import type { ClassifyRequest } from './generated/alexnet/v1/ClassifyRequest.js';
import type { ClassifyResponse__Output } from './generated/alexnet/v1/ClassifyResponse.js';
import type { EmbedRequest } from './generated/alexnet/v1/EmbedRequest.js';
import type { EmbedResponse__Output } from './generated/alexnet/v1/EmbedResponse.js';
import type { ModelInfo__Output } from './generated/alexnet/v1/ModelInfo.js';
import { serviceClientConstructor } from './proto.js';

export type { CallOptions };

export class AlexNetClient {
  readonly raw: GeneratedClient;

  /** `address`: host:port, a comma list of IP:port (one per replica) or a target such as dns:///name:port (fleet-config.ts). */
  constructor(address: string, options: grpc.ChannelOptions = {}, private readonly security: ClientSecurity = {}) {
    const Ctor = serviceClientConstructor();
    this.raw = new Ctor(channelTarget(address), channelCredentials(security), channelOptions(options));
  }

  classify(req: ClassifyRequest & { image: Uint8Array }, opts?: CallOptions): Promise<ClassifyResponse__Output> {
    return unaryCall((o, done) => this.raw.Classify(req, callMetadata(this.security), o, done), opts);
  }

  embed(req: EmbedRequest & { image: Uint8Array }, opts?: CallOptions): Promise<EmbedResponse__Output> {
    return unaryCall((o, done) => this.raw.Embed(req, callMetadata(this.security), o, done), opts);
  }

  modelInfo(opts?: CallOptions): Promise<ModelInfo__Output> {
    return unaryCall((o, done) => this.raw.GetModelInfo({}, callMetadata(this.security), o, done), opts);
  }

  /** A bidirectional ClassifyStream or EmbedStream call; `opts`: the whole stream's deadline and cancellation. */
  stream(method: 'ClassifyStream' | 'EmbedStream', opts?: CallOptions): grpc.ClientDuplexStream<ClassifyRequest | EmbedRequest, ClassifyResponse__Output & EmbedResponse__Output> {
    type Duplex = grpc.ClientDuplexStream<ClassifyRequest | EmbedRequest, ClassifyResponse__Output & EmbedResponse__Output>;
    const { callOpts, bind } = streamOptions(opts);
    const call = (this.raw[method] as unknown as (md: grpc.Metadata, o: grpc.CallOptions) => Duplex).call(this.raw, callMetadata(this.security), callOpts);
    bind(call);
    return call;
  }

  close(): void {
    this.raw.close();
  }
}
