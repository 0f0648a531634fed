// Original file: proto/alexnet/v1/search.proto

import type { StoredItem as _alexnet_v1_StoredItem, StoredItem__Output as _alexnet_v1_StoredItem__Output } from '../../alexnet/v1/StoredItem.js';

export interface GetResponse {
  'items'?: (_alexnet_v1_StoredItem)[];
}

export interface GetResponse__Output {
  'items': (_alexnet_v1_StoredItem__Output)[];
}
