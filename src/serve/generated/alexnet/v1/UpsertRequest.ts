// Original file: proto/alexnet/v1/search.proto

import type { Vector as _alexnet_v1_Vector, Vector__Output as _alexnet_v1_Vector__Output } from '../../alexnet/v1/Vector.js';

export interface UpsertRequest {
  'id'?: (string);
  'image'?: (Buffer | Uint8Array | string);
  'vector'?: (_alexnet_v1_Vector | null);
  'uri'?: (string);
  'labels'?: ({[key: string]: string});
  'source'?: "image"|"vector";
}

export interface UpsertRequest__Output {
  'id': (string);
  'image'?: (Buffer);
  'vector'?: (_alexnet_v1_Vector__Output | null);
  'uri': (string);
  'labels': ({[key: string]: string});
  'source'?: "image"|"vector";
}
