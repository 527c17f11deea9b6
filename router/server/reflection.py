"""Server reflection under both of its names: grpc.reflection.v1 and v1alpha.

grpcio-reflection serves only v1alpha (v1 is grpc/grpc#38576, open), and current clients
(grpcurl, Postman, grpc-java's) ask v1 first. v1 is the same protocol under another package: the
same messages, field for field. So v1 is served by the same servicer, its requests and answers
(de)serialized with v1alpha's classes, which the wire cannot tell apart; and v1's descriptor,
built from v1alpha's with the package renamed, is added to the pool, so that reflection can
describe v1 itself too.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1ALPHA_SERVICE = reflection.SERVICE_NAME
V1_SERVICE = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def enable_reflection(server: grpc.aio.Server, service_names: Iterable[str]) -> None:
    """Serve reflection v1 and v1alpha on ``server``, listing ``service_names`` and both."""
    _add_v1_descriptor()
    servicer = reflection.aio.ReflectionServicer(
        (*service_names, V1_SERVICE, V1ALPHA_SERVICE))
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = {"ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(V1_SERVICE, v1),))


def _add_v1_descriptor() -> None:
    """grpc/reflection/v1/reflection.proto in the default pool: v1alpha's, renamed (once)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(_V1_FILE)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = f".{proto.package}.", ".grpc.reflection.v1."
    proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
    proto.ClearField("options")  # v1alpha's Java and Objective-C package names
    for message in proto.message_type:
        for field in message.field:
            if field.type_name:  # set only on message and enum fields
                field.type_name = field.type_name.replace(old, new, 1)
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new, 1)
            method.output_type = method.output_type.replace(old, new, 1)
    pool.Add(proto)
