import sys

from router.bench.grpc_load import main

sys.exit(main())
