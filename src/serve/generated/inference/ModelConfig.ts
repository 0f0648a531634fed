// Original file: proto/inference/grpc_service.proto

import type { ModelInput as _inference_ModelInput, ModelInput__Output as _inference_ModelInput__Output } from '../inference/ModelInput.js';
import type { ModelOutput as _inference_ModelOutput, ModelOutput__Output as _inference_ModelOutput__Output } from '../inference/ModelOutput.js';
import type { ModelDynamicBatching as _inference_ModelDynamicBatching, ModelDynamicBatching__Output as _inference_ModelDynamicBatching__Output } from '../inference/ModelDynamicBatching.js';

export interface ModelConfig {
  'name'?: (string);
  'platform'?: (string);
  'max_batch_size'?: (number);
  'input'?: (_inference_ModelInput)[];
  'output'?: (_inference_ModelOutput)[];
  'dynamic_batching'?: (_inference_ModelDynamicBatching | null);
  'backend'?: (string);
  'scheduling_choice'?: "dynamic_batching";
}

export interface ModelConfig__Output {
  'name': (string);
  'platform': (string);
  'max_batch_size': (number);
  'input': (_inference_ModelInput__Output)[];
  'output': (_inference_ModelOutput__Output)[];
  'dynamic_batching'?: (_inference_ModelDynamicBatching__Output | null);
  'backend': (string);
  'scheduling_choice'?: "dynamic_batching";
}
