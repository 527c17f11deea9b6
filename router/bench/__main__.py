import os
import sys

from router.bench.grpc_load import main

# the servers it starts listen for HTTP too, on free ports (replicas must not share a port)
os.environ.setdefault("ROUTER_HTTP_ADDRESS", "127.0.0.1:0")

sys.exit(main())
