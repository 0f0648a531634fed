// Original file: proto/alexnet/v1/search.proto

import type { SearchHit as _alexnet_v1_SearchHit, SearchHit__Output as _alexnet_v1_SearchHit__Output } from '../../alexnet/v1/SearchHit.js';
import type { ModelRef as _alexnet_v1_ModelRef, ModelRef__Output as _alexnet_v1_ModelRef__Output } from '../../alexnet/v1/ModelRef.js';
import type { ItemError as _alexnet_v1_ItemError, ItemError__Output as _alexnet_v1_ItemError__Output } from '../../alexnet/v1/ItemError.js';

export interface SearchResponse {
  'hits'?: (_alexnet_v1_SearchHit)[];
  'model'?: (_alexnet_v1_ModelRef | null);
  'error'?: (_alexnet_v1_ItemError | null);
}

export interface SearchResponse__Output {
  'hits': (_alexnet_v1_SearchHit__Output)[];
  'model': (_alexnet_v1_ModelRef__Output | null);
  'error': (_alexnet_v1_ItemError__Output | null);
}
