// Original file: proto/alexnet/v1/search.proto

import type { ItemError as _alexnet_v1_ItemError, ItemError__Output as _alexnet_v1_ItemError__Output } from '../../alexnet/v1/ItemError.js';

export interface UpsertResponse {
  'id'?: (string);
  'ok'?: (boolean);
  'error'?: (_alexnet_v1_ItemError | null);
  'predicted_class'?: (string);
}

export interface UpsertResponse__Output {
  'id': (string);
  'ok': (boolean);
  'error': (_alexnet_v1_ItemError__Output | null);
  'predicted_class': (string);
}
