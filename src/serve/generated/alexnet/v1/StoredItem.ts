// Original file: proto/alexnet/v1/search.proto

import type { Vector as _alexnet_v1_Vector, Vector__Output as _alexnet_v1_Vector__Output } from '../../alexnet/v1/Vector.js';

export interface StoredItem {
  'id'?: (string);
  'found'?: (boolean);
  'vector'?: (_alexnet_v1_Vector | null);
  'uri'?: (string);
  'labels'?: ({[key: string]: string});
  'predicted_class'?: (string);
}

export interface StoredItem__Output {
  'id': (string);
  'found': (boolean);
  'vector': (_alexnet_v1_Vector__Output | null);
  'uri': (string);
  'labels': ({[key: string]: string});
  'predicted_class': (string);
}
