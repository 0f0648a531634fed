/** A small promise-based client of alexnet.v1.ImageSearch (the CLI's index and search commands, tests). */
import * as grpc from '@grpc/grpc-js';
import { callMetadata, channelCredentials, channelOptions, unaryCall, type CallOptions, type ClientSecurity } from './client-call.js';
import { channelTarget } from './fleet-config.js';
import type { DeleteResponse__Output } from './generated/alexnet/v1/DeleteResponse.js';
import type { GetRequest } from './generated/alexnet/v1/GetRequest.js';
import type { GetResponse__Output } from './generated/alexnet/v1/GetResponse.js';
import type { ImageSearchClient as GeneratedClient } from './generated/alexnet/v1/ImageSearch.js';
import type { IndexDescription__Output } from './generated/alexnet/v1/IndexDescription.js';
import type { ListRequest } from './generated/alexnet/v1/ListRequest.js';
import type { ListResponse__Output } from './generated/alexnet/v1/ListResponse.js';
import type { SearchBatchResponse__Output } from './generated/alexnet/v1/SearchBatchResponse.js';
import type { SearchRequest } from './generated/alexnet/v1/SearchRequest.js';
import type { SearchResponse__Output } from './generated/alexnet/v1/SearchResponse.js';
import type { UpsertRequest } from './generated/alexnet/v1/UpsertRequest.js';
import type { UpsertResponse__Output } from './generated/alexnet/v1/UpsertResponse.js';
import { searchClientConstructor } from './proto.js';

export class SearchClient {
  readonly raw: GeneratedClient;

  /**
   * `address`: host:port, a comma list of IP:port (one per replica) or a target such as dns:///name:port (fleet-config.ts).
   * `timeoutMs`: the deadline of each call that names none, and the longest an Upsert stream waits for its next answer.
   */
  constructor(address: string, options: grpc.ChannelOptions = {}, private readonly security: ClientSecurity = {}, private readonly timeoutMs?: number) {
    const Ctor = searchClientConstructor();
    this.raw = new Ctor(channelTarget(address), channelCredentials(security), channelOptions(options));
  }

  private o(opts: CallOptions = {}): CallOptions {
    return opts.timeoutMs === undefined && this.timeoutMs !== undefined ? { ...opts, timeoutMs: this.timeoutMs } : opts;
  }

  search(req: SearchRequest, opts?: CallOptions): Promise<SearchResponse__Output> {
    return unaryCall((o, done) => this.raw.Search(req, callMetadata(this.security), o, done), this.o(opts));
  }

  searchBatch(queries: SearchRequest[], opts?: CallOptions): Promise<SearchBatchResponse__Output> {
    return unaryCall((o, done) => this.raw.SearchBatch({ queries }, callMetadata(this.security), o, done), this.o(opts));
  }

  get(req: GetRequest, opts?: CallOptions): Promise<GetResponse__Output> {
    return unaryCall((o, done) => this.raw.Get(req, callMetadata(this.security), o, done), this.o(opts));
  }

  delete(ids: string[], opts?: CallOptions): Promise<DeleteResponse__Output> {
    return unaryCall((o, done) => this.raw.Delete({ ids }, callMetadata(this.security), o, done), this.o(opts));
  }

  list(req: ListRequest, opts?: CallOptions): Promise<ListResponse__Output> {
    return unaryCall((o, done) => this.raw.List(req, callMetadata(this.security), o, done), this.o(opts));
  }

  describe(opts?: CallOptions): Promise<IndexDescription__Output> {
    return unaryCall((o, done) => this.raw.DescribeIndex({}, callMetadata(this.security), o, done), this.o(opts));
  }

  /** A bidirectional Upsert call. */
  upsertStream(): grpc.ClientDuplexStream<UpsertRequest, UpsertResponse__Output> {
    return this.raw.Upsert(callMetadata(this.security));
  }

  /** Upsert these items on one stream; the responses in order (each ok or its error). */
  upsert(items: UpsertRequest[]): Promise<UpsertResponse__Output[]> {
    return new Promise((resolve, reject) => {
      const out: UpsertResponse__Output[] = [];
      const call = this.upsertStream();
      // A server that stops answering (stopped, its index database stuck) ends the stream, as a deadline ends a unary call.
      let idle: NodeJS.Timeout | undefined;
      const wait = () => {
        clearTimeout(idle);
        if (this.timeoutMs === undefined) return;
        idle = setTimeout(() => {
          reject(Object.assign(new Error(`no answer for ${this.timeoutMs! / 1000} s`), { code: grpc.status.DEADLINE_EXCEEDED, details: `no answer for ${this.timeoutMs! / 1000} s` }));
          call.cancel();
        }, this.timeoutMs);
      };
      wait();
      call.on('data', (r: UpsertResponse__Output) => {
        out.push(r);
        wait();
      });
      call.on('error', (e) => {
        clearTimeout(idle);
        reject(e);
      });
      call.on('end', () => {
        clearTimeout(idle);
        resolve(out);
      });
      for (const it of items) call.write(it);
      call.end();
    });
  }

  close(): void {
    this.raw.close();
  }
}
