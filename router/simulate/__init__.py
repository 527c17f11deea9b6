"""``router simulate``: realistic traffic for many teams, agents and users, driven through the gRPC
API of a running server, with injected anomalies and a ground-truth file.

    router simulate [--address 127.0.0.1:50051] [--scenario default|small] [--days 14]
                    [--seed 1] [--concurrency 32] [--truth truth.json] [--no-anomalies]
                    [--score [--seeds N [--jobs 1] [--end 2026-12-01T20:00Z]]]

The traffic: teams in their own time zones, each with agents (one task type, a quality target, a
primary and a secondary model from the enabled catalog, a lognormal volume) and users. Tasks
arrive with a business-hours daily profile and quieter weekends, steadier than Poisson, so an
agent's hourly spend does not jump by chance; each task makes 1-6 calls with lognormal input and
output tokens, some tools, compute and human review, and now and then a failed attempt
(OUTCOME_RETRY when transient, OUTCOME_FAILURE otherwise) that is retried. Part of the calls (all
of them for some agents) first ask Route() with the model pinned in ``allowed_models`` and report
against the decision; the rest report usage with attribution and model only. Every call is dated
with ``occurred_at`` over ``--days`` days ending at the top of the current hour, and labelled
``sim=<scenario>-s<seed>``.

Anomalies (unless ``--no-anomalies``), all in the last 24 hours, recorded in the truth with what
was reached (``detail``):

- ``spend_spike``: an established agent spends >= 20x its busiest usual hour (and >= 2.50) in the
  last complete hour, in a burst of its ordinary tasks;
- ``new_agent_spend``: a new deployment of an existing agent (``<agent>-v2``), first seen in the
  last 20 hours, spends ~20x an average agent's day;
- ``cost_per_call_rise``: one team pins much dearer models (and longer prompts where no model is
  dear enough) without Route: ~4x its cost per call (>= 3x) at its usual call counts;
- ``retry_loop``: one task of an ordinary agent makes 100-300 calls in 4-6 hours, nearly all
  failures;
- ``prediction_drift``: an agent that routes every call writes 3-4x the output tokens Route()
  predicted, so its actual cost is 2-3x the predicted cost.

The anomalies are sized from the costs the server reported for the history and placed so that
one does not read as another: a burst (spike, new agent, retry loop) lands where it does not move
its team's cost per call, the cost team's agents get at most 6x dearer (no spend spike), and the
drifting agent is a small part of its team's bill.

``--score`` then asks the server to detect and prints the detectors' precision and recall per
kind against the truth. ``--score --seeds N`` scores N seeds from ``--seed`` on, each against a
fresh embedded server (a temporary SQLite file, its clock at ``--end``, default the top of the
current hour; ``--address`` is not used), ``--jobs`` at a time in worker processes, and prints
the minimum and mean precision and recall per kind over the seeds.

Idempotent: usage ids (and Route request ids) derive from the scenario, days, seed and call
number, and every value from seeded generators, so a rerun within the same hour sends exactly the
same requests and the server records nothing new. A rerun in a later hour sends the same ids with
other times: the server refuses them (counted as conflicts, nothing recorded); use another seed.
"""

# The docstring above is the command's --help. The package, by job:
#   scenario     the scenarios' sizes and the anomalies' target sizes
#   task_types   the kinds of work: tokens, model tiers, agent names, prompts, tools, steps
#   catalog      the server's enabled models, in price tiers
#   population   teams, users and agents, and the agents the anomalies need
#   traffic      one task's calls, the daily profile in local time, the history's calls
#   driver       Route / ReportUsage over gRPC, with retries, tallied
#   injection/   one module per anomaly kind, and the context they share
#   simulation   simulate(): the history, then the anomalies in order, then the truth
#   truth        Anomaly, Truth (the JSON file) and score()
#   seeds        --score --seeds: one embedded server per seed, the scores summed up
#   cli          add_parser(), run() and --score

from __future__ import annotations

from router.simulate.cli import add_parser, run
from router.simulate.driver import Progress
from router.simulate.scenario import MAX_DAYS, SCENARIOS, Scenario, scenario
from router.simulate.simulation import simulate
from router.simulate.truth import KINDS, Anomaly, Truth, score

__all__ = ["KINDS", "MAX_DAYS", "SCENARIOS", "Anomaly", "Progress", "Scenario", "Truth",
           "add_parser", "run", "scenario", "score", "simulate"]
