// Original file: proto/alexnet/v1/search.proto


export interface DeleteRequest {
  'ids'?: (string)[];
}

export interface DeleteRequest__Output {
  'ids': (string)[];
}
