// Original file: proto/alexnet/v1/alexnet.proto


export interface ItemError {
  'code'?: (number);
  'message'?: (string);
}

export interface ItemError__Output {
  'code': (number);
  'message': (string);
}
