// Original file: proto/alexnet/v1/search.proto


export interface SearchHit {
  'id'?: (string);
  'distance'?: (number | string);
  'uri'?: (string);
  'labels'?: ({[key: string]: string});
  'predicted_class'?: (string);
}

export interface SearchHit__Output {
  'id': (string);
  'distance': (number);
  'uri': (string);
  'labels': ({[key: string]: string});
  'predicted_class': (string);
}
