/**
 * The paper's initialization (§5): every weight from N(0, 0.01); the biases of conv2, conv4,
 * conv5, fc6 and fc7 set to 1, all other biases 0 (both configurable in the spec).
 */
import type { NetworkSpec, Preset } from '../config.js';
import { ConfigError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { writeCheckpoint } from './checkpoint.js';
import { parameterShapes, sizeOf } from './spec.js';
import type { NamedTensor } from './tensor.js';

export function initParameters(spec: NetworkSpec, classes: number, rng: Rng): NamedTensor[] {
  const biasOne = new Set<string>(spec.init.biasOneLayers);
  return parameterShapes(spec, classes).map(({ name, shape }) => {
    const data = new Float32Array(sizeOf(shape));
    const [layer, kind] = name.split('.') as [string, string];
    if (kind === 'weight') {
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * spec.init.weightStd;
    } else if (biasOne.has(layer)) {
      data.fill(spec.init.biasOneValue);
    }
    return { name, shape, data };
  });
}

export interface InitCheckpointOptions {
  preset: Preset;
  classes: number;
  labels?: string[];
  seed: number;
  out: string;
}

/**
 * A checkpoint with the paper's random init: for trying export and serving before any training,
 * and the start of training. Without training data there is no mean image yet: the mean is
 * mid-grey (127.5 per channel) until the trainer replaces it with the training set's mean.
 */
export async function writeInitCheckpoint(options: InitCheckpointOptions): Promise<string> {
  const { preset, classes, seed, out } = options;
  const labels = options.labels ?? Array.from({ length: classes }, (_, i) => `class${i}`);
  if (labels.length !== classes) {
    throw new ConfigError(`${labels.length} labels given for ${classes} classes`);
  }
  const tensors = initParameters(preset.network, classes, new Rng(seed));
  return writeCheckpoint(
    out,
    {
      preset: preset.name,
      network: preset.network,
      classes,
      labels,
      mean: { kind: 'channel', values: [127.5, 127.5, 127.5] },
      training: { epoch: 0, seed },
    },
    tensors,
  );
}
