// Original file: proto/alexnet/v1/search.proto

import type { SearchResponse as _alexnet_v1_SearchResponse, SearchResponse__Output as _alexnet_v1_SearchResponse__Output } from '../../alexnet/v1/SearchResponse.js';

export interface SearchBatchResponse {
  'results'?: (_alexnet_v1_SearchResponse)[];
}

export interface SearchBatchResponse__Output {
  'results': (_alexnet_v1_SearchResponse__Output)[];
}
