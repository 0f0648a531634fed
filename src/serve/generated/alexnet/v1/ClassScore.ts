// Original file: proto/alexnet/v1/alexnet.proto


export interface ClassScore {
  'index'?: (number);
  'label'?: (string);
  'probability'?: (number | string);
}

export interface ClassScore__Output {
  'index': (number);
  'label': (string);
  'probability': (number);
}
