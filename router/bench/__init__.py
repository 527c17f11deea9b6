"""Benchmarks (``make bench``), never timed unit tests: the gRPC load test against real server
processes (``grpc_load``, the default), reports over 10M rows (``spend``), and classifier
latency (``classifier``)."""
