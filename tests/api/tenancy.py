"""Two teams' data on one server, and a caller of every kind: what the tenancy tests run against.

``open_world`` starts a server (plain, TLS or mTLS; on any store) with the bootstrap admin token,
makes a key of each kind, lets one expire on the injected clock and revokes another, then seeds
team-a and team-b each with a decision and its usage (by a user), a budget, a pause and two
anomalies, plus one budget over every team.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.auth.tls import ClientTls
from router.client import bearer, connect, stub
from router.core.anomalies import Anomaly, Kind
from router.core.clock import ManualClock
from tests.certs import Material, Pair
from tests.conftest import RunningServer, make_settings

TOKEN = "bootstrap-admin-token"
A, B = "team-a", "team-b"
USERS = {A: "alice@a.example", B: "bob@b.example"}
TASK = "Summarise this paragraph in one sentence."
DAY_S = 86_400
LIMIT = pb.Money(currency_code="USD", nanos=10**12)  # 1000 USD a day: never exhausted here

# every kind of caller; "cert" (a client certificate mapped to a team-a key, no bearer) only
# over mTLS
UNAUTHENTICATED = ("none", "garbage", "revoked", "expired")
KEYED = ("team_b", "team_a", "team_a_plain", "reader_a", "reader_all", "admin", "bootstrap")
PRINCIPALS = UNAUTHENTICATED + KEYED
KEYS = {  # principal -> the key it is made with
    "team_a": pb.ApiKey(role=pb.ROLE_TEAM, team=A, permissions=["budgets"]),
    "team_a_plain": pb.ApiKey(role=pb.ROLE_TEAM, team=A),
    "team_b": pb.ApiKey(role=pb.ROLE_TEAM, team=B, permissions=["budgets"]),
    "reader_a": pb.ApiKey(role=pb.ROLE_READER, team=A),
    "reader_all": pb.ApiKey(role=pb.ROLE_READER),
    "admin": pb.ApiKey(role=pb.ROLE_ADMIN),
    "revoked": pb.ApiKey(role=pb.ROLE_TEAM, team=A, permissions=["budgets"]),
    "expired": pb.ApiKey(role=pb.ROLE_TEAM, team=A, permissions=["budgets"]),
}
# what each caller's reads show: its team's rows, or every team's
VISIBLE = {"team_a": {A}, "team_a_plain": {A}, "reader_a": {A}, "cert": {A}, "team_b": {B},
           "reader_all": {A, B}, "admin": {A, B}, "bootstrap": {A, B}}
ALIAS = {"cert": "team_a"}  # the certificate's key is a team_a key


def ts(seconds: float) -> Timestamp:
    return Timestamp(seconds=int(seconds))


def client_tls(material: Material, transport: str, pair: Pair | None = None) -> ClientTls | bool:
    if transport == "plain":
        return False
    if transport == "tls":
        return ClientTls(material.ca.read_bytes())
    pair = pair or material.stranger
    return ClientTls(material.ca.read_bytes(), pair.cert.read_bytes(), pair.key.read_bytes())


def server_settings(tmp_path: Path, store_url: str, transport: str, material: Material | None,
                    **overrides: Any):
    tls: dict[str, str] = {}
    if transport != "plain":
        assert material is not None
        tls = {"tls_cert": str(material.server.cert), "tls_key": str(material.server.key)}
        if transport == "mtls":
            tls["tls_client_ca"] = str(material.ca)
    settings = make_settings(tmp_path, admin_token=TOKEN, anomaly_interval_s=0.0,
                             **{**tls, **overrides})
    return dataclasses.replace(settings, database_url=store_url)


@dataclasses.dataclass
class World:
    server: RunningServer
    clock: ManualClock
    transport: str
    channel: grpc.Channel  # every caller's but "cert"'s (over mTLS: a certificate of no key)
    cert_channel: grpc.Channel | None  # mTLS: a certificate mapped to a team-a key
    admin: Any  # a stub that sends the bootstrap token
    secrets: dict[str, str]  # principal -> its bearer secret
    key_ids: dict[str, str]
    decisions: dict[str, str]  # team -> its seeded decision
    request_ids: dict[str, str]  # team -> the seeded decision's request_id
    usage_ids: dict[str, str]  # team -> the seeded usage
    ids: Iterator[int] = dataclasses.field(default_factory=itertools.count)

    @property
    def now_s(self) -> float:
        return self.clock.now_us() / 1e6

    @property
    def principals(self) -> tuple[str, ...]:
        return PRINCIPALS + (("cert",) if self.cert_channel is not None else ())

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids)}"

    def metadata(self, principal: str) -> tuple[tuple[str, str], ...]:
        if principal in ("none", "cert"):
            return ()
        if principal == "garbage":
            return (("authorization", "Bearer not-a-key"),)
        if principal == "bootstrap":
            return bearer(TOKEN)
        return bearer(self.secrets[principal])

    def stub(self, principal: str) -> Any:
        return stub(self.cert_channel if principal == "cert" else self.channel)

    def call(self, principal: str, rpc: str, request: Message, *, stream_items: int = 0
             ) -> tuple[grpc.StatusCode, str, Any]:
        """``rpc`` as ``principal``: its code, details and response (for WatchAnomalies, the
        first ``stream_items`` streamed, then the stream is cancelled)."""
        method = getattr(self.stub(principal), rpc)
        try:
            if rpc == "WatchAnomalies":
                stream = method(request, metadata=self.metadata(principal), timeout=10)
                got: list[pb.Anomaly] = []
                try:
                    for item in stream:
                        got.append(item)
                        if len(got) >= stream_items:
                            break
                finally:
                    stream.cancel()
                return grpc.StatusCode.OK, "", got
            return grpc.StatusCode.OK, "", method(request, metadata=self.metadata(principal),
                                                 timeout=10)
        except grpc.RpcError as err:
            return err.code(), err.details() or "", None

    def state(self) -> tuple[Any, ...]:
        """Everything a call could change: decisions, usage and its spend, feedback, budgets,
        pauses, keys (once the queued records are committed)."""
        app = self.server.app
        app.recorder.flush()
        with app.store.engine.connect() as conn:
            decisions = conn.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
            usages, spent = conn.execute(sa.text(
                "SELECT count(*), coalesce(sum(cost_total), 0) FROM usages")).one()
            charged = sorted(tuple(r) for r in conn.execute(sa.text(
                "SELECT budget_id, sum(amount) FROM budget_charges GROUP BY budget_id")))
            scores = conn.execute(sa.text(
                "SELECT count(*), coalesce(sum(score), 0) FROM feedback")).one()
        book = app.services.budgets.book
        return (int(decisions), int(usages), int(spent), charged, tuple(scores),
                sorted(repr(r) for r in book.rules), sorted(repr(p) for p in book.pauses()),
                sorted((k.key_id, k.revoked_us) for k in app.store.load_api_keys()))

    def decision_of(self, decision_id: str) -> pb.GetDecisionResponse:
        return self.admin.GetDecision(pb.GetDecisionRequest(decision_id=decision_id))

    def feedback_team(self, feedback_id: str) -> str | None:
        found = self.server.app.store.get_feedback(feedback_id)
        return None if found is None else found.attribution.team

    def usage_team(self, usage_id: str) -> str | None:
        self.server.app.recorder.flush()
        usage = self.server.app.store.get_usage(usage_id)
        return None if usage is None else usage.attribution.team


def make_key(admin: Any, key: pb.ApiKey) -> tuple[str, str]:
    made = admin.CreateApiKey(pb.CreateApiKeyRequest(key=key))
    return made.key.key_id, made.secret


def seed_team(world: World, team: str, principal: str) -> None:
    """A decision routed by ``principal`` (the team's key: the team filled from it), its usage,
    a budget and a pause of the team."""
    router = world.stub(principal)
    metadata = world.metadata(principal)
    user = USERS[team]
    request_id = f"seed-{team}"
    decision = router.Route(pb.RouteRequest(
        request_id=request_id, task_description=TASK,
        attribution=pb.Attribution(agent="bot", task_id=f"t-{team}", user=user)),
        metadata=metadata)
    usage_id = f"seed-{team}"
    router.ReportUsage(pb.ReportUsageRequest(
        usage_id=usage_id, decision_id=decision.decision_id,
        tokens=pb.TokenUsage(input=1000, output=200)), metadata=metadata)
    world.decisions[team], world.request_ids[team] = decision.decision_id, request_id
    world.usage_ids[team] = usage_id
    short = team[-1]
    world.admin.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id=f"{short}-day", scope=pb.BudgetScope(team=team), limit=LIMIT,
        window=pb.BUDGET_WINDOW_DAY)))
    world.admin.PauseScope(pb.PauseScopeRequest(scope=pb.BudgetScope(team=team, agent="idle"),
                                                reason="seeded"))


def seed_anomalies(world: World) -> None:
    """Two anomalies of each team, detected in turn (a, b, a, b), so that a stream replaying
    them oldest first would show another team's between two of the caller's own."""
    store = world.server.app.store
    now = world.clock.now_us()
    hour = 3600 * 10**6
    for i, team in enumerate((A, B, A, B)):
        store.save_anomalies([Anomaly(Kind.SPEND_SPIKE, team, f"agent-{i}", "",
                                      now - 3 * hour, now - 2 * hour, 10.0 * 10**9, 10**9,
                                      f"seeded anomaly {i}")], now - (40 - 10 * i) * 10**6)


@contextmanager
def open_world(tmp_path: Path, store_url: str, transport: str = "plain",
               material: Material | None = None, **overrides: Any) -> Iterator[World]:
    clock = ManualClock(int(time.time()) * 10**6)
    server = RunningServer(server_settings(tmp_path, store_url, transport, material,
                                           **overrides), clock)
    channels: list[grpc.Channel] = []
    try:
        tls = client_tls(material, transport) if material is not None else False
        channel = connect(server.address, key="", tls=tls)
        channels.append(channel)
        admin_channel = connect(server.address, key=TOKEN, tls=tls)
        channels.append(admin_channel)
        admin = stub(admin_channel)
        secrets, key_ids = {}, {}
        for principal, key in KEYS.items():
            if principal == "expired":
                key = pb.ApiKey(role=key.role, team=key.team, permissions=key.permissions,
                                expire_time=ts(clock.now_us() / 1e6 + 60))
            key_ids[principal], secrets[principal] = make_key(admin, key)
        admin.RevokeApiKey(pb.RevokeApiKeyRequest(key_id=key_ids["revoked"]))
        clock.advance(seconds=120)  # the "expired" key is now past its expire_time
        cert_channel = None
        if transport == "mtls":
            assert material is not None
            subject = "O=team-a,CN=agent-a"  # gRPC's x509_subject of material.client
            key_ids["cert"], _ = make_key(admin, pb.ApiKey(
                role=pb.ROLE_TEAM, team=A, permissions=["budgets"], subject=subject))
            cert_channel = connect(server.address, key="",
                                   tls=client_tls(material, transport, material.client))
            channels.append(cert_channel)
        world = World(server, clock, transport, channel, cert_channel, admin, secrets, key_ids,
                      {}, {}, {})
        seed_team(world, A, "team_a")
        seed_team(world, B, "team_b")
        world.admin.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
            id="everyone", limit=LIMIT, window=pb.BUDGET_WINDOW_DAY)))
        seed_anomalies(world)
        yield world
    finally:
        for ch in channels:
            ch.close()
        server.stop()
