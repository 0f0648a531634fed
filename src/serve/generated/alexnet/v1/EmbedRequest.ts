// Original file: proto/alexnet/v1/alexnet.proto

import type { CropMode as _alexnet_v1_CropMode, CropMode__Output as _alexnet_v1_CropMode__Output } from '../../alexnet/v1/CropMode.js';

export interface EmbedRequest {
  'image'?: (Buffer | Uint8Array | string);
  'normalize'?: (boolean);
  'crop'?: (_alexnet_v1_CropMode);
  'top_k'?: (number);
  'request_id'?: (string);
}

export interface EmbedRequest__Output {
  'image': (Buffer);
  'normalize': (boolean);
  'crop': (_alexnet_v1_CropMode__Output);
  'top_k': (number);
  'request_id': (string);
}
