// Original file: proto/alexnet/v1/search.proto

import type { StoredItem as _alexnet_v1_StoredItem, StoredItem__Output as _alexnet_v1_StoredItem__Output } from '../../alexnet/v1/StoredItem.js';

export interface ListResponse {
  'items'?: (_alexnet_v1_StoredItem)[];
  'next_page_token'?: (string);
}

export interface ListResponse__Output {
  'items': (_alexnet_v1_StoredItem__Output)[];
  'next_page_token': (string);
}
