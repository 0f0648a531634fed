// Original file: proto/inference/grpc_service.proto


export interface ServerLiveRequest {
}

export interface ServerLiveRequest__Output {
}
