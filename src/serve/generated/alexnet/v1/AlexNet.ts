// Original file: proto/alexnet/v1/alexnet.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ClassifyRequest as _alexnet_v1_ClassifyRequest, ClassifyRequest__Output as _alexnet_v1_ClassifyRequest__Output } from '../../alexnet/v1/ClassifyRequest.js';
import type { ClassifyResponse as _alexnet_v1_ClassifyResponse, ClassifyResponse__Output as _alexnet_v1_ClassifyResponse__Output } from '../../alexnet/v1/ClassifyResponse.js';
import type { EmbedRequest as _alexnet_v1_EmbedRequest, EmbedRequest__Output as _alexnet_v1_EmbedRequest__Output } from '../../alexnet/v1/EmbedRequest.js';
import type { EmbedResponse as _alexnet_v1_EmbedResponse, EmbedResponse__Output as _alexnet_v1_EmbedResponse__Output } from '../../alexnet/v1/EmbedResponse.js';
import type { GetModelInfoRequest as _alexnet_v1_GetModelInfoRequest, GetModelInfoRequest__Output as _alexnet_v1_GetModelInfoRequest__Output } from '../../alexnet/v1/GetModelInfoRequest.js';
import type { ModelInfo as _alexnet_v1_ModelInfo, ModelInfo__Output as _alexnet_v1_ModelInfo__Output } from '../../alexnet/v1/ModelInfo.js';

export interface AlexNetClient extends grpc.Client {
  Classify(argument: _alexnet_v1_ClassifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  Classify(argument: _alexnet_v1_ClassifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  Classify(argument: _alexnet_v1_ClassifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  Classify(argument: _alexnet_v1_ClassifyRequest, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  classify(argument: _alexnet_v1_ClassifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  classify(argument: _alexnet_v1_ClassifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  classify(argument: _alexnet_v1_ClassifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  classify(argument: _alexnet_v1_ClassifyRequest, callback: grpc.requestCallback<_alexnet_v1_ClassifyResponse__Output>): grpc.ClientUnaryCall;
  
  ClassifyStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_ClassifyRequest, _alexnet_v1_ClassifyResponse__Output>;
  ClassifyStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_ClassifyRequest, _alexnet_v1_ClassifyResponse__Output>;
  classifyStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_ClassifyRequest, _alexnet_v1_ClassifyResponse__Output>;
  classifyStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_ClassifyRequest, _alexnet_v1_ClassifyResponse__Output>;
  
  Embed(argument: _alexnet_v1_EmbedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  Embed(argument: _alexnet_v1_EmbedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  Embed(argument: _alexnet_v1_EmbedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  Embed(argument: _alexnet_v1_EmbedRequest, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embed(argument: _alexnet_v1_EmbedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embed(argument: _alexnet_v1_EmbedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embed(argument: _alexnet_v1_EmbedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embed(argument: _alexnet_v1_EmbedRequest, callback: grpc.requestCallback<_alexnet_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  
  EmbedStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedResponse__Output>;
  EmbedStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedResponse__Output>;
  embedStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedResponse__Output>;
  embedStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedResponse__Output>;
  
  GetModelInfo(argument: _alexnet_v1_GetModelInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  GetModelInfo(argument: _alexnet_v1_GetModelInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  GetModelInfo(argument: _alexnet_v1_GetModelInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  GetModelInfo(argument: _alexnet_v1_GetModelInfoRequest, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  getModelInfo(argument: _alexnet_v1_GetModelInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  getModelInfo(argument: _alexnet_v1_GetModelInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  getModelInfo(argument: _alexnet_v1_GetModelInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  getModelInfo(argument: _alexnet_v1_GetModelInfoRequest, callback: grpc.requestCallback<_alexnet_v1_ModelInfo__Output>): grpc.ClientUnaryCall;
  
}

export interface AlexNetHandlers extends grpc.UntypedServiceImplementation {
  Classify: grpc.handleUnaryCall<_alexnet_v1_ClassifyRequest__Output, _alexnet_v1_ClassifyResponse>;
  
  ClassifyStream: grpc.handleBidiStreamingCall<_alexnet_v1_ClassifyRequest__Output, _alexnet_v1_ClassifyResponse>;
  
  Embed: grpc.handleUnaryCall<_alexnet_v1_EmbedRequest__Output, _alexnet_v1_EmbedResponse>;
  
  EmbedStream: grpc.handleBidiStreamingCall<_alexnet_v1_EmbedRequest__Output, _alexnet_v1_EmbedResponse>;
  
  GetModelInfo: grpc.handleUnaryCall<_alexnet_v1_GetModelInfoRequest__Output, _alexnet_v1_ModelInfo>;
  
}

export interface AlexNetDefinition extends grpc.ServiceDefinition {
  Classify: MethodDefinition<_alexnet_v1_ClassifyRequest, _alexnet_v1_ClassifyResponse, _alexnet_v1_ClassifyRequest__Output, _alexnet_v1_ClassifyResponse__Output>
  ClassifyStream: MethodDefinition<_alexnet_v1_ClassifyRequest, _alexnet_v1_ClassifyResponse, _alexnet_v1_ClassifyRequest__Output, _alexnet_v1_ClassifyResponse__Output>
  Embed: MethodDefinition<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedResponse, _alexnet_v1_EmbedRequest__Output, _alexnet_v1_EmbedResponse__Output>
  EmbedStream: MethodDefinition<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedResponse, _alexnet_v1_EmbedRequest__Output, _alexnet_v1_EmbedResponse__Output>
  GetModelInfo: MethodDefinition<_alexnet_v1_GetModelInfoRequest, _alexnet_v1_ModelInfo, _alexnet_v1_GetModelInfoRequest__Output, _alexnet_v1_ModelInfo__Output>
}
