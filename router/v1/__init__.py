"""Generated protobuf/gRPC code for the router.v1 API (see protos/). Regenerate with `make proto`."""
