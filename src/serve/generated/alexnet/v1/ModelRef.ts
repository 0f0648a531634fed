// Original file: proto/alexnet/v1/alexnet.proto


export interface ModelRef {
  'name'?: (string);
  'version'?: (string);
}

export interface ModelRef__Output {
  'name': (string);
  'version': (string);
}
