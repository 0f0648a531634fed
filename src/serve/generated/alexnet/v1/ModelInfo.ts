// Original file: proto/alexnet/v1/alexnet.proto

import type { ModelRef as _alexnet_v1_ModelRef, ModelRef__Output as _alexnet_v1_ModelRef__Output } from '../../alexnet/v1/ModelRef.js';

export interface ModelInfo {
  'model'?: (_alexnet_v1_ModelRef | null);
  'labels'?: (string)[];
  'preset'?: (string);
  'base_size'?: (number);
  'input_size'?: (number);
  'embedding_dimension'?: (number);
  'execution_provider'?: (string);
  'format_version'?: (number);
  'max_batch_size'?: (number);
  'max_queue_delay_us'?: (number);
  'class_ids'?: (string)[];
}

export interface ModelInfo__Output {
  'model': (_alexnet_v1_ModelRef__Output | null);
  'labels': (string)[];
  'preset': (string);
  'base_size': (number);
  'input_size': (number);
  'embedding_dimension': (number);
  'execution_provider': (string);
  'format_version': (number);
  'max_batch_size': (number);
  'max_queue_delay_us': (number);
  'class_ids': (string)[];
}
