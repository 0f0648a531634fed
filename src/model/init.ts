/**
 * The paper's initialization (§5): every weight from N(0, 0.01); the biases of conv2, conv4,
 * conv5, fc6 and fc7 set to 1, all other biases 0 (both configurable in the spec).
 */
import type { NetworkSpec } from '../config.js';
import { Rng } from '../util/rng.js';
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
