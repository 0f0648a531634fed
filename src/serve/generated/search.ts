import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AlexNetClient as _alexnet_v1_AlexNetClient, AlexNetDefinition as _alexnet_v1_AlexNetDefinition } from './alexnet/v1/AlexNet.js';
import type { ClassScore as _alexnet_v1_ClassScore, ClassScore__Output as _alexnet_v1_ClassScore__Output } from './alexnet/v1/ClassScore.js';
import type { ClassifyRequest as _alexnet_v1_ClassifyRequest, ClassifyRequest__Output as _alexnet_v1_ClassifyRequest__Output } from './alexnet/v1/ClassifyRequest.js';
import type { ClassifyResponse as _alexnet_v1_ClassifyResponse, ClassifyResponse__Output as _alexnet_v1_ClassifyResponse__Output } from './alexnet/v1/ClassifyResponse.js';
import type { DeleteRequest as _alexnet_v1_DeleteRequest, DeleteRequest__Output as _alexnet_v1_DeleteRequest__Output } from './alexnet/v1/DeleteRequest.js';
import type { DeleteResponse as _alexnet_v1_DeleteResponse, DeleteResponse__Output as _alexnet_v1_DeleteResponse__Output } from './alexnet/v1/DeleteResponse.js';
import type { DescribeIndexRequest as _alexnet_v1_DescribeIndexRequest, DescribeIndexRequest__Output as _alexnet_v1_DescribeIndexRequest__Output } from './alexnet/v1/DescribeIndexRequest.js';
import type { EmbedRequest as _alexnet_v1_EmbedRequest, EmbedRequest__Output as _alexnet_v1_EmbedRequest__Output } from './alexnet/v1/EmbedRequest.js';
import type { EmbedResponse as _alexnet_v1_EmbedResponse, EmbedResponse__Output as _alexnet_v1_EmbedResponse__Output } from './alexnet/v1/EmbedResponse.js';
import type { Embedding as _alexnet_v1_Embedding, Embedding__Output as _alexnet_v1_Embedding__Output } from './alexnet/v1/Embedding.js';
import type { Filter as _alexnet_v1_Filter, Filter__Output as _alexnet_v1_Filter__Output } from './alexnet/v1/Filter.js';
import type { GetModelInfoRequest as _alexnet_v1_GetModelInfoRequest, GetModelInfoRequest__Output as _alexnet_v1_GetModelInfoRequest__Output } from './alexnet/v1/GetModelInfoRequest.js';
import type { GetRequest as _alexnet_v1_GetRequest, GetRequest__Output as _alexnet_v1_GetRequest__Output } from './alexnet/v1/GetRequest.js';
import type { GetResponse as _alexnet_v1_GetResponse, GetResponse__Output as _alexnet_v1_GetResponse__Output } from './alexnet/v1/GetResponse.js';
import type { ImageSearchClient as _alexnet_v1_ImageSearchClient, ImageSearchDefinition as _alexnet_v1_ImageSearchDefinition } from './alexnet/v1/ImageSearch.js';
import type { IndexDescription as _alexnet_v1_IndexDescription, IndexDescription__Output as _alexnet_v1_IndexDescription__Output } from './alexnet/v1/IndexDescription.js';
import type { ItemError as _alexnet_v1_ItemError, ItemError__Output as _alexnet_v1_ItemError__Output } from './alexnet/v1/ItemError.js';
import type { ListRequest as _alexnet_v1_ListRequest, ListRequest__Output as _alexnet_v1_ListRequest__Output } from './alexnet/v1/ListRequest.js';
import type { ListResponse as _alexnet_v1_ListResponse, ListResponse__Output as _alexnet_v1_ListResponse__Output } from './alexnet/v1/ListResponse.js';
import type { ModelInfo as _alexnet_v1_ModelInfo, ModelInfo__Output as _alexnet_v1_ModelInfo__Output } from './alexnet/v1/ModelInfo.js';
import type { ModelRef as _alexnet_v1_ModelRef, ModelRef__Output as _alexnet_v1_ModelRef__Output } from './alexnet/v1/ModelRef.js';
import type { SearchBatchRequest as _alexnet_v1_SearchBatchRequest, SearchBatchRequest__Output as _alexnet_v1_SearchBatchRequest__Output } from './alexnet/v1/SearchBatchRequest.js';
import type { SearchBatchResponse as _alexnet_v1_SearchBatchResponse, SearchBatchResponse__Output as _alexnet_v1_SearchBatchResponse__Output } from './alexnet/v1/SearchBatchResponse.js';
import type { SearchHit as _alexnet_v1_SearchHit, SearchHit__Output as _alexnet_v1_SearchHit__Output } from './alexnet/v1/SearchHit.js';
import type { SearchRequest as _alexnet_v1_SearchRequest, SearchRequest__Output as _alexnet_v1_SearchRequest__Output } from './alexnet/v1/SearchRequest.js';
import type { SearchResponse as _alexnet_v1_SearchResponse, SearchResponse__Output as _alexnet_v1_SearchResponse__Output } from './alexnet/v1/SearchResponse.js';
import type { StoredItem as _alexnet_v1_StoredItem, StoredItem__Output as _alexnet_v1_StoredItem__Output } from './alexnet/v1/StoredItem.js';
import type { StringList as _alexnet_v1_StringList, StringList__Output as _alexnet_v1_StringList__Output } from './alexnet/v1/StringList.js';
import type { UpsertRequest as _alexnet_v1_UpsertRequest, UpsertRequest__Output as _alexnet_v1_UpsertRequest__Output } from './alexnet/v1/UpsertRequest.js';
import type { UpsertResponse as _alexnet_v1_UpsertResponse, UpsertResponse__Output as _alexnet_v1_UpsertResponse__Output } from './alexnet/v1/UpsertResponse.js';
import type { Vector as _alexnet_v1_Vector, Vector__Output as _alexnet_v1_Vector__Output } from './alexnet/v1/Vector.js';

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
      DeleteRequest: MessageTypeDefinition<_alexnet_v1_DeleteRequest, _alexnet_v1_DeleteRequest__Output>
      DeleteResponse: MessageTypeDefinition<_alexnet_v1_DeleteResponse, _alexnet_v1_DeleteResponse__Output>
      DescribeIndexRequest: MessageTypeDefinition<_alexnet_v1_DescribeIndexRequest, _alexnet_v1_DescribeIndexRequest__Output>
      EmbedRequest: MessageTypeDefinition<_alexnet_v1_EmbedRequest, _alexnet_v1_EmbedRequest__Output>
      EmbedResponse: MessageTypeDefinition<_alexnet_v1_EmbedResponse, _alexnet_v1_EmbedResponse__Output>
      Embedding: MessageTypeDefinition<_alexnet_v1_Embedding, _alexnet_v1_Embedding__Output>
      Filter: MessageTypeDefinition<_alexnet_v1_Filter, _alexnet_v1_Filter__Output>
      GetModelInfoRequest: MessageTypeDefinition<_alexnet_v1_GetModelInfoRequest, _alexnet_v1_GetModelInfoRequest__Output>
      GetRequest: MessageTypeDefinition<_alexnet_v1_GetRequest, _alexnet_v1_GetRequest__Output>
      GetResponse: MessageTypeDefinition<_alexnet_v1_GetResponse, _alexnet_v1_GetResponse__Output>
      ImageSearch: SubtypeConstructor<typeof grpc.Client, _alexnet_v1_ImageSearchClient> & { service: _alexnet_v1_ImageSearchDefinition }
      IndexDescription: MessageTypeDefinition<_alexnet_v1_IndexDescription, _alexnet_v1_IndexDescription__Output>
      ItemError: MessageTypeDefinition<_alexnet_v1_ItemError, _alexnet_v1_ItemError__Output>
      ListRequest: MessageTypeDefinition<_alexnet_v1_ListRequest, _alexnet_v1_ListRequest__Output>
      ListResponse: MessageTypeDefinition<_alexnet_v1_ListResponse, _alexnet_v1_ListResponse__Output>
      ModelInfo: MessageTypeDefinition<_alexnet_v1_ModelInfo, _alexnet_v1_ModelInfo__Output>
      ModelRef: MessageTypeDefinition<_alexnet_v1_ModelRef, _alexnet_v1_ModelRef__Output>
      SearchBatchRequest: MessageTypeDefinition<_alexnet_v1_SearchBatchRequest, _alexnet_v1_SearchBatchRequest__Output>
      SearchBatchResponse: MessageTypeDefinition<_alexnet_v1_SearchBatchResponse, _alexnet_v1_SearchBatchResponse__Output>
      SearchHit: MessageTypeDefinition<_alexnet_v1_SearchHit, _alexnet_v1_SearchHit__Output>
      SearchRequest: MessageTypeDefinition<_alexnet_v1_SearchRequest, _alexnet_v1_SearchRequest__Output>
      SearchResponse: MessageTypeDefinition<_alexnet_v1_SearchResponse, _alexnet_v1_SearchResponse__Output>
      StoredItem: MessageTypeDefinition<_alexnet_v1_StoredItem, _alexnet_v1_StoredItem__Output>
      StringList: MessageTypeDefinition<_alexnet_v1_StringList, _alexnet_v1_StringList__Output>
      UpsertRequest: MessageTypeDefinition<_alexnet_v1_UpsertRequest, _alexnet_v1_UpsertRequest__Output>
      UpsertResponse: MessageTypeDefinition<_alexnet_v1_UpsertResponse, _alexnet_v1_UpsertResponse__Output>
      Vector: MessageTypeDefinition<_alexnet_v1_Vector, _alexnet_v1_Vector__Output>
    }
  }
}

