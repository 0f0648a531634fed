// Original file: proto/alexnet/v1/alexnet.proto

import type { CropMode as _alexnet_v1_CropMode, CropMode__Output as _alexnet_v1_CropMode__Output } from '../../alexnet/v1/CropMode.js';

export interface ClassifyRequest {
  'image'?: (Buffer | Uint8Array | string);
  'top_k'?: (number);
  'crop'?: (_alexnet_v1_CropMode);
  'include_embedding'?: (boolean);
  'normalize_embedding'?: (boolean);
  'request_id'?: (string);
}

export interface ClassifyRequest__Output {
  'image': (Buffer);
  'top_k': (number);
  'crop': (_alexnet_v1_CropMode__Output);
  'include_embedding': (boolean);
  'normalize_embedding': (boolean);
  'request_id': (string);
}
