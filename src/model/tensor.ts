/** A named float32 tensor in row-major order: the currency between checkpoint, trainer and exporter. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export function tensorMap(tensors: readonly NamedTensor[]): Map<string, NamedTensor> {
  return new Map(tensors.map((t) => [t.name, t]));
}
