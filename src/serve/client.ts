/** A small promise-based client of alexnet.v1.AlexNet (the CLI's classify/embed, tests, the load client). */
import * as grpc from '@grpc/grpc-js';
import { serviceClientConstructor, type ClassifyRequest, type ClassifyResponse, type EmbedRequest, type EmbedResponse, type ModelInfo } from './proto.js';

export interface CallOptions {
  /** Milliseconds from now. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class AlexNetClient {
  readonly raw: grpc.Client & Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>;

  constructor(address: string, options: grpc.ChannelOptions = {}) {
    const Ctor = serviceClientConstructor();
    this.raw = new Ctor(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      ...options,
    }) as AlexNetClient['raw'];
  }

  private unary<Req, Res>(method: string, req: Req, opts: CallOptions = {}): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const callOpts: grpc.CallOptions = opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};
      const call = this.raw[method]!(req, new grpc.Metadata(), callOpts, (e: grpc.ServiceError | null, res: Res) => (e ? reject(e) : resolve(res)));
      opts.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
  }

  classify(req: Partial<ClassifyRequest> & { image: Buffer }, opts?: CallOptions): Promise<ClassifyResponse> {
    return this.unary('Classify', req, opts);
  }

  embed(req: Partial<EmbedRequest> & { image: Buffer }, opts?: CallOptions): Promise<EmbedResponse> {
    return this.unary('Embed', req, opts);
  }

  modelInfo(opts?: CallOptions): Promise<ModelInfo> {
    return this.unary('GetModelInfo', {}, opts);
  }

  /** A bidirectional ClassifyStream or EmbedStream call. */
  stream(method: 'ClassifyStream' | 'EmbedStream'): grpc.ClientDuplexStream<ClassifyRequest | EmbedRequest, ClassifyResponse & EmbedResponse> {
    return (this.raw[method] as unknown as () => grpc.ClientDuplexStream<ClassifyRequest | EmbedRequest, ClassifyResponse & EmbedResponse>)();
  }

  close(): void {
    this.raw.close();
  }
}
