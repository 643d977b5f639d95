#!/usr/bin/python3
"""A client that is not ours: Debian's python3-grpcio asking a server what it offers.

    grpc_probe.py ADDRESS reflection   lists every service and, for dockline.v1.Dockline, its
                                       methods as "Service/Method", learnt over
                                       grpc.reflection.v1alpha (what gRPC 1.51 serves)
    grpc_probe.py ADDRESS health [SVC] prints the grpc.health.v1 status name

No generated stubs: the reflection and health messages are declared here from their public
.proto definitions, so the check does not share a byte of code with dockline.
"""
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

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


def reflection(channel):
    call = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=Request.SerializeToString,
        response_deserializer=Response.FromString)
    [listed] = list(call(iter([Request(list_services="")]), timeout=10))
    services = sorted(s.name for s in listed.list_services_response.service)
    for name in services:
        print("service " + name)
    if "dockline.v1.Dockline" not in services:
        return 1
    [found] = list(call(iter([Request(file_containing_symbol="dockline.v1.Dockline")]),
                        timeout=10))
    if found.WhichOneof("message_response") != "file_descriptor_response":
        print("error " + found.error_response.error_message)
        return 1
    for raw in found.file_descriptor_response.file_descriptor_proto:
        fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
        for service in fdp.service:
            for method in service.method:
                print("method %s.%s/%s" % (fdp.package, service.name, method.name))
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
        return health(channel, sys.argv[3] if len(sys.argv) > 3 else "")


if __name__ == "__main__":
    sys.exit(main())
