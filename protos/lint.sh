#!/usr/bin/env bash
# Lints protos/ with buf (STANDARD rules, exceptions in buf.yaml) and checks that it is still
# wire-compatible with protos/wire_baseline.binpb (WIRE rules): for `make lint`.
#
# buf comes from npm: package-lock.json pins it and `npm ci` installs it into node_modules/, again
# whenever the lock file is newer than the installed tree.
#
# The baseline is the API as deployed clients know it. Rebuild it only to accept a change buf
# flags that has been checked to be the same on the wire (a renamed response type with the same
# fields), or at a release:
#   node_modules/.bin/buf build --exclude-source-info -o protos/wire_baseline.binpb
set -euo pipefail
cd "$(dirname "$0")/.."

buf=node_modules/.bin/buf
if [[ ! -x $buf || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --silent --no-audit --no-fund
fi

"$buf" lint
echo "buf $("$buf" --version) lint: ok"
"$buf" breaking protos --against protos/wire_baseline.binpb
echo "buf breaking (WIRE) against protos/wire_baseline.binpb: ok"
