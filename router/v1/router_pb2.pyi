from router.v1 import access_pb2 as _access_pb2
from router.v1 import anomalies_pb2 as _anomalies_pb2
from router.v1 import budgets_pb2 as _budgets_pb2
from router.v1 import feedback_pb2 as _feedback_pb2
from router.v1 import reports_pb2 as _reports_pb2
from router.v1 import routing_pb2 as _routing_pb2
from router.v1 import usage_pb2 as _usage_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
