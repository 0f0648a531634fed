// Original file: proto/alexnet/v1/search.proto

import type { SearchRequest as _alexnet_v1_SearchRequest, SearchRequest__Output as _alexnet_v1_SearchRequest__Output } from '../../alexnet/v1/SearchRequest.js';

export interface SearchBatchRequest {
  'queries'?: (_alexnet_v1_SearchRequest)[];
}

export interface SearchBatchRequest__Output {
  'queries': (_alexnet_v1_SearchRequest__Output)[];
}
