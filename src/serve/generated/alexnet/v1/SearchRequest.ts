// Original file: proto/alexnet/v1/search.proto

import type { Vector as _alexnet_v1_Vector, Vector__Output as _alexnet_v1_Vector__Output } from '../../alexnet/v1/Vector.js';
import type { Filter as _alexnet_v1_Filter, Filter__Output as _alexnet_v1_Filter__Output } from '../../alexnet/v1/Filter.js';

export interface SearchRequest {
  'image'?: (Buffer | Uint8Array | string);
  'vector'?: (_alexnet_v1_Vector | null);
  'id'?: (string);
  'k'?: (number);
  'filter'?: (_alexnet_v1_Filter | null);
  'max_distance'?: (number | string);
  'exclude_self'?: (boolean);
  'query'?: "image"|"vector"|"id";
}

export interface SearchRequest__Output {
  'image'?: (Buffer);
  'vector'?: (_alexnet_v1_Vector__Output | null);
  'id'?: (string);
  'k': (number);
  'filter': (_alexnet_v1_Filter__Output | null);
  'max_distance': (number);
  'exclude_self': (boolean);
  'query'?: "image"|"vector"|"id";
}
