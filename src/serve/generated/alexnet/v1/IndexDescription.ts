// Original file: proto/alexnet/v1/search.proto

import type { ModelRef as _alexnet_v1_ModelRef, ModelRef__Output as _alexnet_v1_ModelRef__Output } from '../../alexnet/v1/ModelRef.js';
import type { Long } from '@grpc/proto-loader';

export interface IndexDescription {
  'count'?: (number | string | Long);
  'dimension'?: (number);
  'metric'?: (string);
  'model'?: (_alexnet_v1_ModelRef | null);
  'indexed'?: (number | string | Long);
  'unindexed'?: (number | string | Long);
  'backend'?: (string);
  'location'?: (string);
  'served_model'?: (_alexnet_v1_ModelRef | null);
  'matches_served_model'?: (boolean);
}

export interface IndexDescription__Output {
  'count': (number);
  'dimension': (number);
  'metric': (string);
  'model': (_alexnet_v1_ModelRef__Output | null);
  'indexed': (number);
  'unindexed': (number);
  'backend': (string);
  'location': (string);
  'served_model': (_alexnet_v1_ModelRef__Output | null);
  'matches_served_model': (boolean);
}
