"""A server-reflection client that is not ours, as grpcurl works: Debian's grpcio and protobuf,
run with /usr/bin/python3. It learns every service from reflection alone (list, then each
service's file and the files it imports), builds them in a protobuf descriptor pool (which refuses
what protoc would refuse, as grpcurl's Go protodesc does), calls Classify and ImageSearch.Search
with messages made from those descriptors, and prints JSON: each service as reflection describes
it and as protoc compiles it from the .proto files (stubs the test compiled into STUBS_DIR).

usage: reflection_client.py STUBS_DIR PLAN_JSON
PLAN: {"address", "version": "v1"|"v1alpha", "image": png path, "k"}
"""
import importlib
import json
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory  # noqa: E402

plan = json.load(open(sys.argv[2]))
R = importlib.import_module("reflection.%s.reflection_pb2" % plan["version"])
RG = importlib.import_module("reflection.%s.reflection_pb2_grpc" % plan["version"])
channel = grpc.insecure_channel(plan["address"])
stub = RG.ServerReflectionStub(channel)


def ask(**request):
    reply = next(stub.ServerReflectionInfo(iter([R.ServerReflectionRequest(**request)])))
    if reply.HasField("error_response"):
        sys.exit("reflection %s: %s" % (request, reply.error_response.error_message))
    return reply


services = [s.name for s in ask(list_services="*").list_services_response.service]
files = {}


def learn(reply):
    for raw in reply.file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        files.setdefault(fd.name, fd)


for name in services:
    learn(ask(file_containing_symbol=name))
missing = True
while missing:
    missing = [d for fd in list(files.values()) for d in fd.dependency if d not in files]
    for d in missing:
        learn(ask(file_by_filename=d))
        if d not in files:
            sys.exit("reflection does not give %s, which %s imports" % (d, [f.name for f in files.values() if d in f.dependency]))

pool = descriptor_pool.DescriptorPool()
added = set()


def add(name):
    if name in added:
        return
    for d in files[name].dependency:
        add(d)
    try:
        pool.Add(files[name])
    except Exception as e:  # the pool says what protoc would say of this file
        sys.exit("reflection's %s is refused by protobuf: %s" % (name, e))
    added.add(name)


for name in list(files):
    add(name)


def field_type(f):
    if f.message_type is not None:
        return f.message_type.full_name
    if f.enum_type is not None:
        return f.enum_type.full_name
    return str(f.type)


def describe(service):
    """A service's methods and every message and enum they reach, by full name."""
    types, todo = {}, []
    methods = []
    for m in service.methods:
        methods.append([m.name, m.input_type.full_name, m.output_type.full_name, m.client_streaming, m.server_streaming])
        todo += [m.input_type, m.output_type]
    while todo:
        t = todo.pop()
        if t.full_name in types:
            continue
        fields = []
        for f in t.fields:
            entry = f.message_type is not None and f.message_type.GetOptions().map_entry
            fields.append([f.name, f.number, f.label, field_type(f), f.containing_oneof.name if f.containing_oneof else "", entry])
            if f.message_type is not None:
                todo.append(f.message_type)
            if f.enum_type is not None:
                types[f.enum_type.full_name] = [[v.name, v.number] for v in f.enum_type.values]
        types[t.full_name] = fields
    return {"methods": methods, "types": types}


def protoc_service(name):
    for module in ["alexnet.v1.alexnet_pb2", "alexnet.v1.search_pb2", "inference.grpc_service_pb2", "health.v1.health_pb2"]:
        fd = importlib.import_module(module).DESCRIPTOR
        for s in fd.services_by_name.values():
            if s.full_name == name:
                return s
    return None


report = {"services": services, "reflected": {}, "protoc": {}}
for name in services:
    report["reflected"][name] = describe(pool.FindServiceByName(name))
    s = protoc_service(name)
    report["protoc"][name] = describe(s) if s is not None else None

factory = message_factory.MessageFactory(pool)


def call(service, method, **fields):
    m = pool.FindServiceByName(service).methods_by_name[method]
    Req, Res = factory.GetPrototype(m.input_type), factory.GetPrototype(m.output_type)
    rpc = channel.unary_unary("/%s/%s" % (service, method), request_serializer=Req.SerializeToString, response_deserializer=Res.FromString)
    try:
        reply = rpc(Req(**fields))
        return {"code": "OK", "reply": json_format.MessageToDict(reply, preserving_proto_field_name=True)}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}


image = open(plan["image"], "rb").read()
report["Classify"] = call("alexnet.v1.AlexNet", "Classify", image=image, top_k=plan["k"])
report["Search"] = call("alexnet.v1.ImageSearch", "Search", image=image, k=1, filter={"equals": {"class": "none"}})
print(json.dumps(report))
