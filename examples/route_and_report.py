"""One step of an orchestrator against a running router (the README's quick start): ask Route()
which model to call, pretend to call it, and report what the call used with ReportUsage().

    .venv/bin/python examples/route_and_report.py [--address 127.0.0.1:50051] [--agent reconciler]

Every run uses new ids: a retried request_id would get its first answer back, not a new decision.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence

import grpc

from router import v1 as pb
from router.client import connect, default_address, stub
from router.core.money import units

TASK = ("Match these 40 invoice lines to the ledger entries and list the ones that do not "
        "reconcile, with the amount each is off by.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default=default_address())
    parser.add_argument("--team", default="finance")
    parser.add_argument("--agent", default="reconciler")
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]
    keys = pb.Attribution(team=args.team, agent=args.agent, task_id=f"inv-{run}", user="ana")
    with connect(args.address) as channel:
        router = stub(channel)
        try:
            decision = router.Route(pb.RouteRequest(
                request_id=f"inv-{run}-step-1", task_description=TASK, attribution=keys,
                capabilities=[pb.CAPABILITY_JSON]), timeout=10)
            print(f"Route: {decision.model} ({decision.provider}), predicted "
                  f"{_money(decision.predicted.cost)} for {decision.predicted.input_tokens} "
                  f"input + {decision.predicted.output_tokens} output tokens: "
                  f"{decision.reason.message}")
            print(f"  fallbacks: {', '.join(decision.fallbacks) or '(none)'}")
            # ... call decision.model with your provider's SDK here; these are its token counts
            receipt = router.ReportUsage(pb.ReportUsageRequest(
                usage_id=f"inv-{run}-step-1-call-1", decision_id=decision.decision_id,
                tokens=pb.TokenUsage(input=decision.predicted.input_tokens,
                                     output=decision.predicted.output_tokens * 6 // 5),
                tool_calls=[pb.ToolCall(name="web_search", count=1)],
                outcome=pb.OUTCOME_SUCCESS, latency_ms=850), timeout=10)
        except grpc.RpcError as err:
            print(f"{err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    print(f"ReportUsage: cost {_money(receipt.cost.total)} (tokens "
          f"{_money(receipt.cost.tokens)}, tools {_money(receipt.cost.tools)}); token cost "
          f"{receipt.prediction_error.cost_error_ratio:+.0%} off the prediction")
    for b in receipt.budgets:
        print(f"  budget {b.budget_id} ({b.window_key}): {b.used_fraction:.2%} used, "
              f"{pb.BudgetState.Name(b.state).removeprefix('BUDGET_STATE_').lower()}")
    return 0


def _money(m: pb.Money) -> str:
    return f"{units(m.nanos)} {m.currency_code}"


if __name__ == "__main__":
    sys.exit(main())
