// Original file: proto/alexnet/v1/search.proto

import type { StringList as _alexnet_v1_StringList, StringList__Output as _alexnet_v1_StringList__Output } from '../../alexnet/v1/StringList.js';

export interface Filter {
  'equals'?: ({[key: string]: string});
  'one_of'?: ({[key: string]: _alexnet_v1_StringList});
}

export interface Filter__Output {
  'equals': ({[key: string]: string});
  'one_of': ({[key: string]: _alexnet_v1_StringList__Output});
}
