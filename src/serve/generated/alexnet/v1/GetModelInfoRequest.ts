// Original file: proto/alexnet/v1/alexnet.proto


export interface GetModelInfoRequest {
}

export interface GetModelInfoRequest__Output {
}
