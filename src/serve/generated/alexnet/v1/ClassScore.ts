// Original file: proto/alexnet/v1/alexnet.proto


export interface ClassScore {
  'index'?: (number);
  'label'?: (string);
  'probability'?: (number | string);
  'class_id'?: (string);
}

export interface ClassScore__Output {
  'index': (number);
  'label': (string);
  'probability': (number);
  'class_id': (string);
}
