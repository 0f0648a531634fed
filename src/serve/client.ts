/** A small promise-based client of alexnet.v1.AlexNet (the CLI's classify/embed, tests, the load client). */
import * as grpc from '@grpc/grpc-js';
import type { AlexNetClient as GeneratedClient } from './generated/alexnet/v1/AlexNet.js';
import type { ClassifyRequest } from './generated/alexnet/v1/ClassifyRequest.js';
import type { ClassifyResponse__Output } from './generated/alexnet/v1/ClassifyResponse.js';
import type { EmbedRequest } from './generated/alexnet/v1/EmbedRequest.js';
import type { EmbedResponse__Output } from './generated/alexnet/v1/EmbedResponse.js';
import type { ModelInfo__Output } from './generated/alexnet/v1/ModelInfo.js';
import { serviceClientConstructor } from './proto.js';

export interface CallOptions {
  /** Milliseconds from now. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class AlexNetClient {
  readonly raw: GeneratedClient;

  constructor(address: string, options: grpc.ChannelOptions = {}) {
    const Ctor = serviceClientConstructor();
    this.raw = new Ctor(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      ...options,
    });
  }

  /** `start` issues the call with these options and callback; `opts` sets its deadline and cancellation. */
  private unary<Res>(start: (callOpts: grpc.CallOptions, done: grpc.requestCallback<Res>) => grpc.ClientUnaryCall, opts: CallOptions = {}): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const callOpts: grpc.CallOptions = opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};
      const call = start(callOpts, (e, res) => (e ? reject(e) : resolve(res!)));
      opts.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
  }

  classify(req: ClassifyRequest & { image: Buffer }, opts?: CallOptions): Promise<ClassifyResponse__Output> {
    return this.unary((o, done) => this.raw.Classify(req, new grpc.Metadata(), o, done), opts);
  }

  embed(req: EmbedRequest & { image: Buffer }, opts?: CallOptions): Promise<EmbedResponse__Output> {
    return this.unary((o, done) => this.raw.Embed(req, new grpc.Metadata(), o, done), opts);
  }

  modelInfo(opts?: CallOptions): Promise<ModelInfo__Output> {
    return this.unary((o, done) => this.raw.GetModelInfo({}, new grpc.Metadata(), o, done), opts);
  }

  /** A bidirectional ClassifyStream or EmbedStream call. */
  stream(method: 'ClassifyStream' | 'EmbedStream'): grpc.ClientDuplexStream<ClassifyRequest | EmbedRequest, ClassifyResponse__Output & EmbedResponse__Output> {
    return (this.raw[method] as unknown as () => grpc.ClientDuplexStream<ClassifyRequest | EmbedRequest, ClassifyResponse__Output & EmbedResponse__Output>).call(this.raw);
  }

  close(): void {
    this.raw.close();
  }
}
