import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AlexNetClient as _alexnet_v1_AlexNetClient, AlexNetDefinition as _alexnet_v1_AlexNetDefinition } from './alexnet/v1/AlexNet.js';
import type { ClassScore as _alexnet_v1_ClassScore, ClassScore__Output as _alexnet_v1_ClassScore__Output } from './alexnet/v1/ClassScore.js';
import type { ClassifyRequest as _alexnet_v1_ClassifyRequest, ClassifyRequest__Output as _alexnet_v1_ClassifyRequest__Output } from './alexnet/v1/ClassifyRequest.js';
import type { ClassifyResponse as _alexnet_v1_ClassifyResponse, ClassifyResponse__Output as _alexnet_v1_ClassifyResponse__Output } from './alexnet/v1/ClassifyResponse.js';
import type { EmbedRequest as _alexnet_v1_EmbedRequest, EmbedRequest__Output as _alexnet_v1_EmbedRequest__Output } from './alexnet/v1/EmbedRequest.js';
import type { EmbedResponse as _alexnet_v1_EmbedResponse, EmbedResponse__Output as _alexnet_v1_EmbedResponse__Output } from './alexnet/v1/EmbedResponse.js';
import type { Embedding as _alexnet_v1_Embedding, Embedding__Output as _alexnet_v1_Embedding__Output } from './alexnet/v1/Embedding.js';
import type { GetModelInfoRequest as _alexnet_v1_GetModelInfoRequest, GetModelInfoRequest__Output as _alexnet_v1_GetModelInfoRequest__Output } from './alexnet/v1/GetModelInfoRequest.js';
import type { ItemError as _alexnet_v1_ItemError, ItemError__Output as _alexnet_v1_ItemError__Output } from './alexnet/v1/ItemError.js';
import type { ModelInfo as _alexnet_v1_ModelInfo, ModelInfo__Output as _alexnet_v1_ModelInfo__Output } from './alexnet/v1/ModelInfo.js';
import type { ModelRef as _alexnet_v1_ModelRef, ModelRef__Output as _alexnet_v1_ModelRef__Output } from './alexnet/v1/ModelRef.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  alexnet: {
    v1: {
      AlexNet: SubtypeConstructor<typeof grpc.Client, _alexnet_v1_AlexNetClient> & { service: _alexnet_v1_AlexNetDefinition }
      ClassScore: MessageTypeDefinition<_alexnet_v1_ClassScore, _alexnet_v1_ClassScore__Output>
      ClassifyRequest: MessageTypeDefinition<_alexnet_v1_ClassifyRequest, _alexnet_v1_ClassifyRequest__Output>
      ClassifyResponse: MessageTypeDefinition<_alexnet_v1_ClassifyResponse, _alexnet_v1_ClassifyResponse__Output>
      CropMode: EnumTypeDefinition
      EmbedRequest: MessageTypeDefinition<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedRequest__Output>
      EmbedResponse: MessageTypeDefinition<_alexnet_v1_EmbedResponse, _alexnet_v1_EmbedResponse__Output>
      Embedding: MessageTypeDefinition<_alexnet_v1_Embedding, _alexnet_v1_Embedding__Output>
      GetModelInfoRequest: MessageTypeDefinition<_alexnet_v1_GetModelInfoRequest, _alexnet_v1_GetModelInfoRequest__Output>
      ItemError: MessageTypeDefinition<_alexnet_v1_ItemError, _alexnet_v1_ItemError__Output>
      ModelInfo: MessageTypeDefinition<_alexnet_v1_ModelInfo, _alexnet_v1_ModelInfo__Output>
      ModelRef: MessageTypeDefinition<_alexnet_v1_ModelRef, _alexnet_v1_ModelRef__Output>
    }
  }
}

