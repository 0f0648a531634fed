// Original file: proto/alexnet/v1/search.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DeleteRequest as _alexnet_v1_DeleteRequest, DeleteRequest__Output as _alexnet_v1_DeleteRequest__Output } from '../../alexnet/v1/DeleteRequest.js';
import type { DeleteResponse as _alexnet_v1_DeleteResponse, DeleteResponse__Output as _alexnet_v1_DeleteResponse__Output } from '../../alexnet/v1/DeleteResponse.js';
import type { DescribeIndexRequest as _alexnet_v1_DescribeIndexRequest, DescribeIndexRequest__Output as _alexnet_v1_DescribeIndexRequest__Output } from '../../alexnet/v1/DescribeIndexRequest.js';
import type { GetRequest as _alexnet_v1_GetRequest, GetRequest__Output as _alexnet_v1_GetRequest__Output } from '../../alexnet/v1/GetRequest.js';
import type { GetResponse as _alexnet_v1_GetResponse, GetResponse__Output as _alexnet_v1_GetResponse__Output } from '../../alexnet/v1/GetResponse.js';
import type { IndexDescription as _alexnet_v1_IndexDescription, IndexDescription__Output as _alexnet_v1_IndexDescription__Output } from '../../alexnet/v1/IndexDescription.js';
import type { ListRequest as _alexnet_v1_ListRequest, ListRequest__Output as _alexnet_v1_ListRequest__Output } from '../../alexnet/v1/ListRequest.js';
import type { ListResponse as _alexnet_v1_ListResponse, ListResponse__Output as _alexnet_v1_ListResponse__Output } from '../../alexnet/v1/ListResponse.js';
import type { SearchBatchRequest as _alexnet_v1_SearchBatchRequest, SearchBatchRequest__Output as _alexnet_v1_SearchBatchRequest__Output } from '../../alexnet/v1/SearchBatchRequest.js';
import type { SearchBatchResponse as _alexnet_v1_SearchBatchResponse, SearchBatchResponse__Output as _alexnet_v1_SearchBatchResponse__Output } from '../../alexnet/v1/SearchBatchResponse.js';
import type { SearchRequest as _alexnet_v1_SearchRequest, SearchRequest__Output as _alexnet_v1_SearchRequest__Output } from '../../alexnet/v1/SearchRequest.js';
import type { SearchResponse as _alexnet_v1_SearchResponse, SearchResponse__Output as _alexnet_v1_SearchResponse__Output } from '../../alexnet/v1/SearchResponse.js';
import type { UpsertRequest as _alexnet_v1_UpsertRequest, UpsertRequest__Output as _alexnet_v1_UpsertRequest__Output } from '../../alexnet/v1/UpsertRequest.js';
import type { UpsertResponse as _alexnet_v1_UpsertResponse, UpsertResponse__Output as _alexnet_v1_UpsertResponse__Output } from '../../alexnet/v1/UpsertResponse.js';

export interface ImageSearchClient extends grpc.Client {
  Delete(argument: _alexnet_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _alexnet_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _alexnet_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _alexnet_v1_DeleteRequest, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _alexnet_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _alexnet_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _alexnet_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _alexnet_v1_DeleteRequest, callback: grpc.requestCallback<_alexnet_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  
  DescribeIndex(argument: _alexnet_v1_DescribeIndexRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  DescribeIndex(argument: _alexnet_v1_DescribeIndexRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  DescribeIndex(argument: _alexnet_v1_DescribeIndexRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  DescribeIndex(argument: _alexnet_v1_DescribeIndexRequest, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  describeIndex(argument: _alexnet_v1_DescribeIndexRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  describeIndex(argument: _alexnet_v1_DescribeIndexRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  describeIndex(argument: _alexnet_v1_DescribeIndexRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  describeIndex(argument: _alexnet_v1_DescribeIndexRequest, callback: grpc.requestCallback<_alexnet_v1_IndexDescription__Output>): grpc.ClientUnaryCall;
  
  Get(argument: _alexnet_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _alexnet_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _alexnet_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _alexnet_v1_GetRequest, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _alexnet_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _alexnet_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _alexnet_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _alexnet_v1_GetRequest, callback: grpc.requestCallback<_alexnet_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  
  List(argument: _alexnet_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _alexnet_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _alexnet_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _alexnet_v1_ListRequest, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _alexnet_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _alexnet_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _alexnet_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _alexnet_v1_ListRequest, callback: grpc.requestCallback<_alexnet_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
  Search(argument: _alexnet_v1_SearchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  Search(argument: _alexnet_v1_SearchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  Search(argument: _alexnet_v1_SearchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  Search(argument: _alexnet_v1_SearchRequest, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  search(argument: _alexnet_v1_SearchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  search(argument: _alexnet_v1_SearchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  search(argument: _alexnet_v1_SearchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  search(argument: _alexnet_v1_SearchRequest, callback: grpc.requestCallback<_alexnet_v1_SearchResponse__Output>): grpc.ClientUnaryCall;
  
  SearchBatch(argument: _alexnet_v1_SearchBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  SearchBatch(argument: _alexnet_v1_SearchBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  SearchBatch(argument: _alexnet_v1_SearchBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  SearchBatch(argument: _alexnet_v1_SearchBatchRequest, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  searchBatch(argument: _alexnet_v1_SearchBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  searchBatch(argument: _alexnet_v1_SearchBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  searchBatch(argument: _alexnet_v1_SearchBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  searchBatch(argument: _alexnet_v1_SearchBatchRequest, callback: grpc.requestCallback<_alexnet_v1_SearchBatchResponse__Output>): grpc.ClientUnaryCall;
  
  Upsert(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_UpsertRequest, _alexnet_v1_UpsertResponse__Output>;
  Upsert(options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_UpsertRequest, _alexnet_v1_UpsertResponse__Output>;
  upsert(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_UpsertRequest, _alexnet_v1_UpsertResponse__Output>;
  upsert(options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_UpsertRequest, _alexnet_v1_UpsertResponse__Output>;
  
}

export interface ImageSearchHandlers extends grpc.UntypedServiceImplementation {
  Delete: grpc.handleUnaryCall<_alexnet_v1_DeleteRequest__Output, _alexnet_v1_DeleteResponse>;
  
  DescribeIndex: grpc.handleUnaryCall<_alexnet_v1_DescribeIndexRequest__Output, _alexnet_v1_IndexDescription>;
  
  Get: grpc.handleUnaryCall<_alexnet_v1_GetRequest__Output, _alexnet_v1_GetResponse>;
  
  List: grpc.handleUnaryCall<_alexnet_v1_ListRequest__Output, _alexnet_v1_ListResponse>;
  
  Search: grpc.handleUnaryCall<_alexnet_v1_SearchRequest__Output, _alexnet_v1_SearchResponse>;
  
  SearchBatch: grpc.handleUnaryCall<_alexnet_v1_SearchBatchRequest__Output, _alexnet_v1_SearchBatchResponse>;
  
  Upsert: grpc.handleBidiStreamingCall<_alexnet_v1_UpsertRequest__Output, _alexnet_v1_UpsertResponse>;
  
}

export interface ImageSearchDefinition extends grpc.ServiceDefinition {
  Delete: MethodDefinition<_alexnet_v1_DeleteRequest, _alexnet_v1_DeleteResponse, _alexnet_v1_DeleteRequest__Output, _alexnet_v1_DeleteResponse__Output>
  DescribeIndex: MethodDefinition<_alexnet_v1_DescribeIndexRequest, _alexnet_v1_IndexDescription, _alexnet_v1_DescribeIndexRequest__Output, _alexnet_v1_IndexDescription__Output>
  Get: MethodDefinition<_alexnet_v1_GetRequest, _alexnet_v1_GetResponse, _alexnet_v1_GetRequest__Output, _alexnet_v1_GetResponse__Output>
  List: MethodDefinition<_alexnet_v1_ListRequest, _alexnet_v1_ListResponse, _alexnet_v1_ListRequest__Output, _alexnet_v1_ListResponse__Output>
  Search: MethodDefinition<_alexnet_v1_SearchRequest, _alexnet_v1_SearchResponse, _alexnet_v1_SearchRequest__Output, _alexnet_v1_SearchResponse__Output>
  SearchBatch: MethodDefinition<_alexnet_v1_SearchBatchRequest, _alexnet_v1_SearchBatchResponse, _alexnet_v1_SearchBatchRequest__Output, _alexnet_v1_SearchBatchResponse__Output>
  Upsert: MethodDefinition<_alexnet_v1_UpsertRequest, _alexnet_v1_UpsertResponse, _alexnet_v1_UpsertRequest__Output, _alexnet_v1_UpsertResponse__Output>
}
