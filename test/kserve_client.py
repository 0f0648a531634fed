"""A KServe v2 gRPC client that is not ours: grpcio and the stubs protoc generates from
proto/inference/grpc_service.proto (compiled by the test into STUBS_DIR), run with Debian's
/usr/bin/python3. It drives the server through one fixed scenario and prints JSON: each call's
status code (and answer, decoded here from the wire format), for test/contract/kserve.test.ts
to check against the AlexNet service's own answers.

usage: kserve_client.py STUBS_DIR PLAN_JSON
PLAN: {"address", "model", "images": [png paths], "pixels": [raw RGB paths], "base_size", "k"}
"""
import json
import struct
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from inference import grpc_service_pb2 as pb  # noqa: E402
from inference import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

plan = json.load(open(sys.argv[2]))
stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(plan["address"]))
images = [open(p, "rb").read() for p in plan["images"]]
pixels = [open(p, "rb").read() for p in plan["pixels"]]
B = plan["base_size"]
MODEL = plan["model"]


def as_dict(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True, including_default_value_fields=True)


def call(method, request):
    try:
        return {"code": "OK", "reply": getattr(stub, method)(request)}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}


def answer(method, request):
    """The reply of a call that must succeed (else exit 1, saying which call failed and why)."""
    r = call(method, request)
    if r["code"] != "OK":
        sys.exit("%s: %s %s" % (method, r["code"], r["details"]))
    return r["reply"]


def length_prefixed(elements):
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def split_length_prefixed(raw):
    out, at = [], 0
    while at < len(raw):
        (n,) = struct.unpack_from("<I", raw, at)
        out.append(raw[at + 4 : at + 4 + n])
        at += 4 + n
    return out


def decode_outputs(reply):
    """Each output as {datatype, shape, values}: floats, or the strings of a BYTES tensor."""
    out = {}
    for i, o in enumerate(reply.outputs):
        raw = reply.raw_output_contents[i] if len(reply.raw_output_contents) > 0 else None
        if o.datatype == "FP32":
            values = list(struct.unpack("<%df" % (len(raw) // 4), raw)) if raw is not None else list(o.contents.fp32_contents)
        else:
            values = [b.decode() for b in (split_length_prefixed(raw) if raw is not None else o.contents.bytes_contents)]
        out[o.name] = {"datatype": o.datatype, "shape": list(o.shape), "values": values}
    return out


def make_request(inputs, raw=None, outputs=(), model=MODEL, version="", rid=""):
    req = pb.ModelInferRequest(model_name=model, model_version=version, id=rid)
    for name, datatype, shape, contents in inputs:
        t = req.inputs.add(name=name, datatype=datatype, shape=shape)
        if contents is not None:
            t.contents.CopyFrom(contents)
    for name, k in outputs:
        o = req.outputs.add(name=name)
        if k is not None:
            o.parameters["classification"].int64_param = k
    if raw is not None:
        req.raw_input_contents.extend(raw)
    return req


def infer(label, inputs, raw=None, outputs=(), model=MODEL, version="", rid=""):
    r = call("ModelInfer", make_request(inputs, raw, outputs, model, version, rid))
    result = {"label": label, "code": r["code"], "details": r.get("details", "")}
    if r["code"] == "OK":
        reply = r["reply"]
        result.update(model_name=reply.model_name, model_version=reply.model_version, id=reply.id, raw=len(reply.raw_output_contents) > 0, outputs=decode_outputs(reply))
    calls.append(result)


def bytes_contents(elements):
    return pb.InferTensorContents(bytes_contents=elements)


n, m = len(images), len(pixels)
result = {}
for method, request in [
    ("ServerLive", pb.ServerLiveRequest()),
    ("ServerReady", pb.ServerReadyRequest()),
    ("ServerMetadata", pb.ServerMetadataRequest()),
]:
    result[method] = as_dict(answer(method, request))
result["ModelReady"] = as_dict(answer("ModelReady", pb.ModelReadyRequest(name=MODEL)))
result["ModelReadyOther"] = as_dict(answer("ModelReady", pb.ModelReadyRequest(name="no-such-model")))
result["ModelMetadata"] = as_dict(answer("ModelMetadata", pb.ModelMetadataRequest(name=MODEL)))
result["ModelMetadataOther"] = {k: v for k, v in call("ModelMetadata", pb.ModelMetadataRequest(name="no-such-model")).items() if k != "reply"}
config = answer("ModelConfig", pb.ModelConfigRequest(name=MODEL))
result["ModelConfig"] = as_dict(config)
result["schedulingChoice"] = config.config.WhichOneof("scheduling_choice")
result["statsBefore"] = as_dict(answer("ModelStatistics", pb.ModelStatisticsRequest(name=MODEL)))

calls = []
version = result["ModelMetadata"]["versions"][0]
# Answers, in every encoding clients use.
infer("bytes_contents", [("images", "BYTES", [n], bytes_contents(images))], rid="r-1")
infer("raw_bytes", [("images", "BYTES", [n, 1], None)], raw=[length_prefixed(images)], version=version)
infer("uint_contents", [("pixels", "UINT8", [m, B, B, 3], pb.InferTensorContents(uint_contents=list(b"".join(pixels))))])
infer("raw_pixels", [("pixels", "UINT8", [m, B, B, 3], None)], raw=[b"".join(pixels)])
infer("raw_pixels_one", [("pixels", "UINT8", [1, B, B, 3], None)], raw=[pixels[0]])
infer("classification", [("images", "BYTES", [n], bytes_contents(images))], outputs=[("probabilities", plan["k"])])
infer("classification_raw", [("images", "BYTES", [n], None)], raw=[length_prefixed(images)], outputs=[("probabilities", plan["k"]), ("fc7", None)])
infer("only_fc7", [("images", "BYTES", [1], bytes_contents(images[:1]))], outputs=[("fc7", None)])
# Refusals.
infer("wrong_datatype", [("images", "UINT8", [n], bytes_contents(images))])
infer("wrong_shape", [("images", "BYTES", [n, 2], bytes_contents(images))])
infer("pixels_wrong_shape", [("pixels", "UINT8", [1, B, B, 4], None)], raw=[bytes(B * B * 4)])
infer("raw_byte_count", [("pixels", "UINT8", [1, B, B, 3], None)], raw=[pixels[0][:-1]])
infer("raw_bytes_truncated", [("images", "BYTES", [1], None)], raw=[length_prefixed(images[:1])[:-5]])
infer("element_count", [("images", "BYTES", [n + 1], bytes_contents(images))])
infer("unknown_input", [("image", "BYTES", [1], bytes_contents(images[:1]))])
infer("no_input", [])
infer("both_inputs", [("images", "BYTES", [1], bytes_contents(images[:1])), ("pixels", "UINT8", [1, B, B, 3], pb.InferTensorContents(uint_contents=list(pixels[0])))])
infer("unknown_output", [("images", "BYTES", [1], bytes_contents(images[:1]))], outputs=[("fc8", None)])
infer("classification_too_many", [("images", "BYTES", [1], bytes_contents(images[:1]))], outputs=[("probabilities", 10_000)])
infer("not_an_image", [("images", "BYTES", [2], bytes_contents([images[0], b"not an image"]))])
infer("unknown_model", [("images", "BYTES", [1], bytes_contents(images[:1]))], model="no-such-model")
infer("unknown_version", [("images", "BYTES", [1], bytes_contents(images[:1]))], version="no-such-version")
result["calls"] = calls
result["statsAfter"] = as_dict(answer("ModelStatistics", pb.ModelStatisticsRequest(name=MODEL)))
# ModelStreamInfer: answers in order, an error as error_message, the stream going on after it.
stream = []
for r in stub.ModelStreamInfer(iter([
    make_request([("images", "BYTES", [n], bytes_contents(images))], rid="s-1"),
    make_request([("images", "UINT8", [n], bytes_contents(images))], rid="s-2"),
    make_request([("pixels", "UINT8", [m, B, B, 3], None)], raw=[b"".join(pixels)], rid="s-3"),
    make_request([("images", "BYTES", [1], bytes_contents(images[:1]))], model="no-such-model", rid="s-4"),
    make_request([("images", "BYTES", [1], bytes_contents(images[1:2]))], rid="s-5"),
])):
    item = {"error_message": r.error_message, "id": r.infer_response.id, "model_name": r.infer_response.model_name}
    if not r.error_message:
        item["outputs"] = decode_outputs(r.infer_response)
    stream.append(item)
result["stream"] = stream
result["statsStream"] = as_dict(answer("ModelStatistics", pb.ModelStatisticsRequest(name=MODEL)))
result["RepositoryIndex"] = as_dict(answer("RepositoryIndex", pb.RepositoryIndexRequest()))
load = call("RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name=MODEL))
result["RepositoryModelLoad"] = load["code"]
result["RepositoryModelLoadOther"] = call("RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="no-such-model"))["code"]
result["RepositoryModelUnload"] = {k: v for k, v in call("RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name=MODEL)).items() if k != "reply"}
result["RepositoryModelUnloadOther"] = call("RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name="no-such-model"))["code"]
result["ServerReadyAfterUnload"] = as_dict(answer("ServerReady", pb.ServerReadyRequest()))
# max_batch_size is the most images one request may hold (Triton's meaning): that many are answered, one more refused.
most = config.config.max_batch_size
result["atMaxBatch"] = {k: v for k, v in call("ModelInfer", make_request([("images", "BYTES", [most], bytes_contents([images[0]] * most))])).items() if k != "reply"}
result["overMaxBatch"] = {k: v for k, v in call("ModelInfer", make_request([("images", "BYTES", [most + 1], bytes_contents([images[0]] * (most + 1)))])).items() if k != "reply"}
print(json.dumps(result))
