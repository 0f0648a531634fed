// Original file: proto/alexnet/v1/alexnet.proto

import type { Embedding as _alexnet_v1_Embedding, Embedding__Output as _alexnet_v1_Embedding__Output } from '../../alexnet/v1/Embedding.js';
import type { ModelRef as _alexnet_v1_ModelRef, ModelRef__Output as _alexnet_v1_ModelRef__Output } from '../../alexnet/v1/ModelRef.js';
import type { ClassScore as _alexnet_v1_ClassScore, ClassScore__Output as _alexnet_v1_ClassScore__Output } from '../../alexnet/v1/ClassScore.js';
import type { ItemError as _alexnet_v1_ItemError, ItemError__Output as _alexnet_v1_ItemError__Output } from '../../alexnet/v1/ItemError.js';

export interface EmbedResponse {
  'embedding'?: (_alexnet_v1_Embedding | null);
  'model'?: (_alexnet_v1_ModelRef | null);
  'classes'?: (_alexnet_v1_ClassScore)[];
  'request_id'?: (string);
  'error'?: (_alexnet_v1_ItemError | null);
}

export interface EmbedResponse__Output {
  'embedding': (_alexnet_v1_Embedding__Output | null);
  'model': (_alexnet_v1_ModelRef__Output | null);
  'classes': (_alexnet_v1_ClassScore__Output)[];
  'request_id': (string);
  'error': (_alexnet_v1_ItemError__Output | null);
}
