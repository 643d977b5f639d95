#!/usr/bin/python3
"""A client that is not ours: Debian's python3-grpcio asking a server what it offers.

    grpc_probe.py ADDRESS reflection   lists every service and, for each, its methods as
                                       "Service/Method", learnt over grpc.reflection.v1alpha
                                       (what gRPC 1.51 serves); fails when a listed service
                                       cannot be described
    grpc_probe.py ADDRESS describe SVC prints each method of SVC with its request and response
                                       types, from reflection alone
    grpc_probe.py ADDRESS call SVC/METHOD JSON [emit-defaults]
                                       what `grpcurl -d JSON ADDRESS SVC/METHOD` does: the
                                       request and response types learnt over reflection, the
                                       request built from JSON, the response printed as JSON
                                       (each message of a server stream in turn; zero values
                                       too with emit-defaults, as grpcurl -emit-defaults; a
                                       client stream gets each JSON object of JSON as one
                                       message, then its end)
    grpc_probe.py ADDRESS health [SVC] prints the grpc.health.v1 status name

No generated stubs: the reflection and health messages are declared here from their public
.proto definitions, so the check does not share a byte of code with dockline.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

F = descriptor_pb2.FieldDescriptorProto


def _field(msg, name, number, ftype, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof


def _messages():
    fd = descriptor_pb2.FileDescriptorProto(name="probe.proto", package="probe", syntax="proto3")
    req = fd.message_type.add(name="ServerReflectionRequest")
    req.oneof_decl.add(name="message_request")
    _field(req, "host", 1, F.TYPE_STRING)
    _field(req, "file_containing_symbol", 4, F.TYPE_STRING, oneof=0)
    _field(req, "list_services", 7, F.TYPE_STRING, oneof=0)
    fdr = fd.message_type.add(name="FileDescriptorResponse")
    _field(fdr, "file_descriptor_proto", 1, F.TYPE_BYTES, F.LABEL_REPEATED)
    svc = fd.message_type.add(name="ServiceResponse")
    _field(svc, "name", 1, F.TYPE_STRING)
    lsr = fd.message_type.add(name="ListServiceResponse")
    _field(lsr, "service", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".probe.ServiceResponse")
    err = fd.message_type.add(name="ErrorResponse")
    _field(err, "error_code", 1, F.TYPE_INT32)
    _field(err, "error_message", 2, F.TYPE_STRING)
    res = fd.message_type.add(name="ServerReflectionResponse")
    res.oneof_decl.add(name="message_response")
    _field(res, "valid_host", 1, F.TYPE_STRING)
    _field(res, "file_descriptor_response", 4, F.TYPE_MESSAGE,
           type_name=".probe.FileDescriptorResponse", oneof=0)
    _field(res, "list_services_response", 6, F.TYPE_MESSAGE,
           type_name=".probe.ListServiceResponse", oneof=0)
    _field(res, "error_response", 7, F.TYPE_MESSAGE, type_name=".probe.ErrorResponse", oneof=0)
    hreq = fd.message_type.add(name="HealthCheckRequest")
    _field(hreq, "service", 1, F.TYPE_STRING)
    hres = fd.message_type.add(name="HealthCheckResponse")
    _field(hres, "status", 1, F.TYPE_INT32)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    names = ["ServerReflectionRequest", "ServerReflectionResponse", "HealthCheckRequest",
             "HealthCheckResponse"]
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:
        factory = message_factory.MessageFactory(pool)
        return [factory.GetPrototype(pool.FindMessageTypeByName("probe." + n)) for n in names]
    return [get(pool.FindMessageTypeByName("probe." + n)) for n in names]


Request, Response, HealthRequest, HealthResponse = _messages()


def _reflect(channel, request):
    call = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=Request.SerializeToString,
        response_deserializer=Response.FromString)
    [response] = list(call(iter([request]), timeout=10))
    return response


def _files_of(channel, symbol):
    """The file defining `symbol` and its imports, as FileDescriptorProtos, or an error text."""
    found = _reflect(channel, Request(file_containing_symbol=symbol))
    if found.WhichOneof("message_response") != "file_descriptor_response":
        return None, found.error_response.error_message
    return [descriptor_pb2.FileDescriptorProto.FromString(raw)
            for raw in found.file_descriptor_response.file_descriptor_proto], None


def _service(channel, name):
    """A pool holding what reflection said about service `name`, and its descriptor."""
    files, error = _files_of(channel, name)
    if files is None:
        return None, error
    pool = descriptor_pool.DescriptorPool()
    pending = {f.name: f for f in files}
    # Imports first: reflection sends them in any order.
    while pending:
        ready = [f for f in pending.values()
                 if all(d not in pending for d in f.dependency)]
        if not ready:
            return None, "reflection left imports unresolved: " + ", ".join(pending)
        for f in ready:
            pool.Add(f)
            del pending[f.name]
    return pool.FindServiceByName(name), None


def reflection(channel):
    listed = _reflect(channel, Request(list_services=""))
    services = sorted(s.name for s in listed.list_services_response.service)
    for name in services:
        print("service " + name)
    if "dockline.v1.Dockline" not in services:
        return 1
    failed = 0
    for name in services:
        service, error = _service(channel, name)
        if service is None:
            print("error %s: %s" % (name, error))
            failed = 1
            continue
        for method in service.methods:
            print("method %s/%s" % (service.full_name, method.name))
    return failed


def describe(channel, name):
    service, error = _service(channel, name)
    if service is None:
        print("error " + error)
        return 1
    for method in service.methods:
        print("rpc %s(%s%s) returns (%s%s)" % (
            method.name, "stream " if method.client_streaming else "",
            method.input_type.full_name, "stream " if method.server_streaming else "",
            method.output_type.full_name))
    return 0


def _json_objects(text):
    """The JSON objects of `text` one after another, as grpcurl reads `-d`: each is a message."""
    decoder = json.JSONDecoder()
    at, objects = 0, []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return objects
        _, end = decoder.raw_decode(text, at)
        objects.append(text[at:end])
        at = end


def call(channel, path, body, emit_defaults=False):
    name, method_name = path.rsplit("/", 1)
    service, error = _service(channel, name)
    if service is None:
        print("error " + error)
        return 1
    method = service.methods_by_name.get(method_name)
    if method is None:
        print("error %s has no method %s" % (name, method_name))
        return 1
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:
        factory = message_factory.MessageFactory(method.input_type.file.pool)
        request_class = factory.GetPrototype(method.input_type)
        response_class = factory.GetPrototype(method.output_type)
    else:
        request_class, response_class = get(method.input_type), get(method.output_type)
    # A client stream gets the one message, then the end of the stream, as grpcurl sends
    # `-d JSON`.
    kinds = {(False, False): channel.unary_unary, (False, True): channel.unary_stream,
             (True, False): channel.stream_unary, (True, True): channel.stream_stream}
    kind = kinds[(method.client_streaming, method.server_streaming)]
    rpc = kind("/%s/%s" % (name, method_name),
               request_serializer=request_class.SerializeToString,
               response_deserializer=response_class.FromString)
    requests = [json_format.Parse(text, request_class()) for text in _json_objects(body)]
    if not method.client_streaming and len(requests) != 1:
        print("error %s takes one request, got %d" % (path, len(requests)))
        return 1
    responses = rpc(iter(requests) if method.client_streaming else requests[0], timeout=60)
    for response in (responses if method.server_streaming else [responses]):
        print(json_format.MessageToJson(response, indent=2,
                                        including_default_value_fields=emit_defaults))
    return 0


def health(channel, service):
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=HealthRequest.SerializeToString,
                                response_deserializer=HealthResponse.FromString)
    names = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
    print(names.get(check(HealthRequest(service=service), timeout=10).status, "?"))
    return 0


def main():
    address, what = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(address) as channel:
        if what == "reflection":
            return reflection(channel)
        if what == "describe":
            return describe(channel, sys.argv[3])
        if what == "call":
            return call(channel, sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "{}",
                        len(sys.argv) > 5 and sys.argv[5] == "emit-defaults")
        return health(channel, sys.argv[3] if len(sys.argv) > 3 else "")


if __name__ == "__main__":
    sys.exit(main())
