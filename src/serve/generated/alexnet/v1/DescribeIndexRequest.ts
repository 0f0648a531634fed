// Original file: proto/alexnet/v1/search.proto


export interface DescribeIndexRequest {
}

export interface DescribeIndexRequest__Output {
}
