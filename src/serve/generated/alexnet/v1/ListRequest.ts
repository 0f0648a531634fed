// Original file: proto/alexnet/v1/search.proto

import type { Filter as _alexnet_v1_Filter, Filter__Output as _alexnet_v1_Filter__Output } from '../../alexnet/v1/Filter.js';

export interface ListRequest {
  'page_size'?: (number);
  'page_token'?: (string);
  'filter'?: (_alexnet_v1_Filter | null);
}

export interface ListRequest__Output {
  'page_size': (number);
  'page_token': (string);
  'filter': (_alexnet_v1_Filter__Output | null);
}
