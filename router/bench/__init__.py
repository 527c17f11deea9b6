"""Benchmarks (``make bench``), never timed unit tests: the gRPC load test against real server
processes (``grpc_load``, the default; it includes Route with and without an API key), reports
over 10M rows (``spend``) and the dashboard in a browser over them (``dashboard``), classifier
latency (``classifier``) and the in-process cost of authenticating a call (``auth``)."""
