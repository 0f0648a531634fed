// Original file: proto/alexnet/v1/search.proto


export interface GetRequest {
  'ids'?: (string)[];
  'allow_missing'?: (boolean);
}

export interface GetRequest__Output {
  'ids': (string)[];
  'allow_missing': (boolean);
}
