// Original file: proto/alexnet/v1/search.proto


export interface DeleteResponse {
  'deleted'?: (number);
}

export interface DeleteResponse__Output {
  'deleted': (number);
}
