// Original file: proto/alexnet/v1/search.proto


export interface Vector {
  'values'?: (number | string)[];
}

export interface Vector__Output {
  'values': (number)[];
}
