// Original file: proto/alexnet/v1/alexnet.proto


export interface Embedding {
  'vector'?: (number | string)[];
  'dimension'?: (number);
  'normalized'?: (boolean);
}

export interface Embedding__Output {
  'vector': (number)[];
  'dimension': (number);
  'normalized': (boolean);
}
