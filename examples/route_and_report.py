"""One step of an orchestrator against a running router (the README's quick start), with
``router.client``: the call scope asks Route() which model to call, the body pretends to call it
and records what it used, and the scope reports that with ReportUsage() as it closes.

    .venv/bin/python examples/route_and_report.py [--address 127.0.0.1:50051] [--agent reconciler]

Every run uses new ids: a rerun request_id would get its first answer back, not a new decision.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence
from decimal import Decimal

from router import v1 as pb
from router.client import Client, RouterCallError, default_address

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
    try:
        with Client(args.address) as router, router.call(
                TASK, team=args.team, agent=args.agent, task_id=f"inv-{run}", user="ana",
                request_id=f"inv-{run}-step-1", capabilities=["json"]) as call:
            decision = call.decision
            print(f"Route: {decision.model} ({decision.provider}), predicted "
                  f"{_money(decision.predicted.cost)} for {decision.predicted.input_tokens} "
                  f"input + {decision.predicted.output_tokens} output tokens: "
                  f"{decision.reason.message}")
            print(f"  fallbacks: {', '.join(decision.fallbacks) or '(none)'}")
            # ... call call.model with your provider's SDK here and record its response; these
            # are its token counts, as Anthropic's SDK would report them
            call.record({"input_tokens": decision.predicted.input_tokens,
                         "output_tokens": decision.predicted.output_tokens * 6 // 5},
                        tools={"web_search": 1})
    except RouterCallError as err:
        print(f"{err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    receipt = call.receipt
    print(f"ReportUsage: cost {_money(receipt.cost.total)} (tokens "
          f"{_money(receipt.cost.tokens)}, tools {_money(receipt.cost.tools)}); token cost "
          f"{receipt.prediction_error.cost_error_ratio:+.0%} off the prediction")
    for b in receipt.budgets:
        print(f"  budget {b.budget_id} ({b.window_key}): {b.used_fraction:.2%} used, "
              f"{pb.BudgetState.Name(b.state).removeprefix('BUDGET_STATE_').lower()}")
    return 0


def _money(m: pb.Money) -> str:
    return f"{(Decimal(m.nanos) / 10**9).normalize():f} {m.currency_code}"  # nanos, never float


if __name__ == "__main__":
    sys.exit(main())
