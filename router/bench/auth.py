"""In-process cost of authenticating one call (a benchmark, not a test).

    python -m router.bench.auth [-n 100000] [--keys 1000]

Times ``Keyring.authenticate`` as the key service calls it for every RPC (the clock read
included), on a keyring holding ``--keys`` team keys: for a valid team key (one HMAC-SHA256 and
one dictionary lookup) and for the bootstrap admin token (one constant-time comparison). One
call is close to ``perf_counter``'s own cost, so calls are timed in batches of ``BATCH`` and
reported per call, in microseconds: the median and the 99th percentile over the batches (a
shared machine preempts a process now and then; the median is what a call costs).
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from router.auth import KeyRecord, Keyring, KeySpec, Role
from router.auth.keys import digest, new_key
from router.core.clock import SystemClock

BATCH = 1000


def keyring(n_keys: int = 1000) -> tuple[Keyring, str, str]:
    """A keyring of ``n_keys`` team keys (enforcing, as once any key exists), one of their
    secrets, and its bootstrap admin token."""
    pepper = secrets.token_bytes(32)
    token = secrets.token_urlsafe(32)
    ring = Keyring(pepper, admin_token=token)
    records, secret = [], ""
    for i in range(max(1, n_keys)):
        key_id, secret = new_key()
        records.append(KeyRecord(key_id, digest(pepper, secret),
                                 KeySpec(Role.TEAM, team=f"team-{i}"), 0, "bench"))
    ring.load(records)
    return ring, secret, token


def _per_call_us(fn: Callable[[], object], n: int) -> list[float]:
    """Microseconds per call of ``fn``, one figure per batch of ``BATCH`` calls."""
    for _ in range(min(n, 10 * BATCH)):  # warm-up
        fn()
    clock = time.perf_counter_ns
    out = []
    for _ in range(max(1, n // BATCH)):
        start = clock()
        for _ in range(BATCH):
            fn()
        out.append((clock() - start) / BATCH / 1000.0)
    return out


def bench(n: int = 100_000, n_keys: int = 1000) -> dict[str, Any]:
    """Per-call microseconds (p50 and p99 over batches) for a team key and the admin token."""
    ring, secret, token = keyring(n_keys)
    now = SystemClock().now_us
    team_header, admin_header = f"Bearer {secret}", f"Bearer {token}"
    assert ring.authenticate(team_header, now()).role is Role.TEAM
    assert ring.authenticate(admin_header, now()).role is Role.ADMIN
    result: dict[str, Any] = {"n": max(1, n // BATCH) * BATCH, "keys": max(1, n_keys)}
    for name, header in (("team", team_header), ("bootstrap", admin_header)):
        def call(h: str = header) -> object:
            return ring.authenticate(h, now())

        t = sorted(_per_call_us(call, n))
        result[f"{name}_p50_us"] = statistics.median(t)
        result[f"{name}_p99_us"] = t[min(len(t) - 1, int(0.99 * len(t)))]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.bench.auth",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="calls per credential (100000)")
    parser.add_argument("--keys", type=int, default=1000, help="keys in the keyring (1000)")
    args = parser.parse_args(argv)
    result = bench(args.n, args.keys)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                      for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
