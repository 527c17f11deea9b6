"""mTLS: a client certificate's subject authenticates as the key made with that subject; a
client without a certificate of the server's client CA cannot connect at all; and
``router.client.connect`` takes its TLS (and key) from the ROUTER_TLS_* (and ROUTER_API_KEY)
environment.

The subject is what gRPC puts in ``auth_context()['x509_subject']``: RFC 4514 (RFC 2253), the
most significant RDN first, exactly as ``openssl x509 -noout -subject -nameopt RFC2253``
prints it: ``O=team-a,CN=agent-a`` for a certificate whose subject reads CN=agent-a, O=team-a
in its own order; special characters backslash-escaped (``CN=a\\,b``), and bytes outside ASCII
as hex escapes of their UTF-8 (``CN=\\C3\\BCn\\C3\\AF`` for ``CN=ünï``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest

from router import v1 as pb
from router.api.grpc.auth import certificate_subject
from router.auth.tls import ClientTls
from router.client import bearer, connect, connect_aio, stub
from router.core.clock import ManualClock
from tests.api.tenancy import TASK, TOKEN, server_settings, ts
from tests.certs import Material, Pair, client_pair, self_signed
from tests.conftest import RunningServer, make_settings

CLIENT_SUBJECT = "O=team-a,CN=agent-a"  # tls_material.client's, as gRPC reports it


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def mtls(tmp_path: Path, tls_material: Material, clock: ManualClock) -> Iterator[RunningServer]:
    running = RunningServer(server_settings(tmp_path, f"sqlite:///{tmp_path / 'store.db'}",
                                            "mtls", tls_material), clock)
    yield running
    running.stop()


def tls_of(material: Material, pair: Pair | None = None, ca: Path | None = None) -> ClientTls:
    return ClientTls((ca or material.ca).read_bytes(),
                     pair.cert.read_bytes() if pair else None,
                     pair.key.read_bytes() if pair else None)


@pytest.fixture
def admin(mtls: RunningServer, tls_material: Material):
    """The bootstrap admin over mTLS (with a certificate that maps to no key)."""
    with connect(mtls.address, key=TOKEN,
                 tls=tls_of(tls_material, tls_material.stranger)) as channel:
        yield stub(channel)


def make_key(admin, **fields) -> pb.CreateApiKeyResponse:
    return admin.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(**fields)), timeout=10)


def route(channel: grpc.Channel, metadata=()) -> tuple[grpc.StatusCode, pb.RouteResponse | None]:
    try:
        return grpc.StatusCode.OK, stub(channel).Route(pb.RouteRequest(task_description=TASK),
                                                       timeout=10, metadata=metadata)
    except grpc.RpcError as err:
        return err.code(), None


def team_of(admin, routed: pb.RouteResponse) -> str:
    return admin.GetDecision(pb.GetDecisionRequest(decision_id=routed.decision_id)).attribution.team


def test_certificate_subject_reads_x509_subject():
    context = SimpleNamespace(auth_context=lambda: {"x509_common_name": [b"agent-a"],
                                                    "x509_subject": [CLIENT_SUBJECT.encode()]})
    assert certificate_subject(context) == CLIENT_SUBJECT
    assert certificate_subject(SimpleNamespace(auth_context=lambda: {})) == ""


@pytest.mark.parametrize(("parts", "subject"), [
    ({"CN": "agent-a", "O": "team-a"}, CLIENT_SUBJECT),
    ({"CN": "a,b", "O": "x+y", "OU": "q=r"}, r"OU=q=r,O=x\+y,CN=a\,b"),
    ({"CN": "ünï"}, r"CN=\C3\BCn\C3\AF"),
], ids=["plain", "escaped", "non-ascii"])
def test_a_certificate_authenticates_as_the_key_of_its_subject(
        tmp_path: Path, tls_material: Material, mtls: RunningServer, admin,
        parts: dict[str, str], subject: str):
    pair = client_pair(tmp_path, tls_material.ca, "mine", **parts)
    if subject.startswith("CN=\\C3"):  # the name as UTF-8 is not the subject gRPC reports
        make_key(admin, role=pb.ROLE_TEAM, team="team-b", subject="CN=ünï")
        with connect(mtls.address, key="", tls=tls_of(tls_material, pair)) as channel:
            assert route(channel)[0] is grpc.StatusCode.UNAUTHENTICATED
    made = make_key(admin, role=pb.ROLE_TEAM, team="team-a", subject=subject)
    with connect(mtls.address, key="", tls=tls_of(tls_material, pair)) as channel:
        code, routed = route(channel)  # no bearer: the certificate is the credential
        assert code is grpc.StatusCode.OK
        assert team_of(admin, routed) == "team-a"
    assert made.key.subject == subject


def test_a_subject_keys_expiry_and_revocation_hold(tmp_path: Path, tls_material: Material,
                                                   mtls: RunningServer, admin,
                                                   clock: ManualClock):
    expiring = client_pair(tmp_path, tls_material.ca, "expiring", CN="expiring")
    revoked = client_pair(tmp_path, tls_material.ca, "revoked", CN="revoked")
    make_key(admin, role=pb.ROLE_TEAM, team="team-a", subject="CN=expiring",
             expire_time=ts(clock.now_us() / 1e6 + 60))
    gone = make_key(admin, role=pb.ROLE_TEAM, team="team-a", subject="CN=revoked")
    with connect(mtls.address, key="", tls=tls_of(tls_material, expiring)) as e_channel, \
            connect(mtls.address, key="", tls=tls_of(tls_material, revoked)) as r_channel:
        assert route(e_channel)[0] is grpc.StatusCode.OK
        assert route(r_channel)[0] is grpc.StatusCode.OK
        clock.advance(seconds=61)
        admin.RevokeApiKey(pb.RevokeApiKeyRequest(key_id=gone.key.key_id))
        assert route(e_channel)[0] is grpc.StatusCode.UNAUTHENTICATED
        assert route(r_channel)[0] is grpc.StatusCode.UNAUTHENTICATED


def test_a_bearer_is_the_credential_when_one_is_sent(tls_material: Material,
                                                     mtls: RunningServer, admin):
    """Over a certificate mapped to team-a's key: team-b's bearer routes as team-b, and a
    wrong bearer is refused (a credential that is sent is always checked)."""
    make_key(admin, role=pb.ROLE_TEAM, team="team-a", subject=CLIENT_SUBJECT)
    team_b = make_key(admin, role=pb.ROLE_TEAM, team="team-b")
    with connect(mtls.address, key="", tls=tls_of(tls_material, tls_material.client)) as channel:
        code, routed = route(channel, bearer(team_b.secret))
        assert code is grpc.StatusCode.OK and team_of(admin, routed) == "team-b"
        assert route(channel, bearer("rk_0123456789ab_" + "x" * 43))[0] is \
            grpc.StatusCode.UNAUTHENTICATED
        assert route(channel)[0] is grpc.StatusCode.OK


def test_without_a_certificate_of_the_client_ca_nothing_connects(
        tmp_path: Path, tls_material: Material, mtls: RunningServer, admin):
    team = make_key(admin, role=pb.ROLE_TEAM, team="team-a")
    foreign = client_pair(tmp_path, tls_material.other_ca, "foreign", CN="agent-a", O="team-a")
    make_key(admin, role=pb.ROLE_TEAM, team="team-a", subject=CLIENT_SUBJECT)
    for tls in (tls_of(tls_material),  # no certificate, even with a valid bearer
                tls_of(tls_material, foreign),  # the right subject, signed by another CA
                False):  # plain text
        with connect(mtls.address, key=team.secret, tls=tls) as channel:
            assert route(channel)[0] is grpc.StatusCode.UNAVAILABLE, tls


def test_a_tls_server_without_a_client_ca_takes_no_certificate_as_a_credential(
        tmp_path: Path, tls_material: Material):
    running = RunningServer(server_settings(tmp_path, f"sqlite:///{tmp_path / 'store.db'}",
                                            "tls", tls_material))
    try:
        with connect(running.address, key=TOKEN, tls=tls_of(tls_material)) as admin_channel:
            make_key(stub(admin_channel), role=pb.ROLE_TEAM, team="team-a",
                     subject=CLIENT_SUBJECT)
        with connect(running.address, key="",
                     tls=tls_of(tls_material, tls_material.client)) as channel:
            assert route(channel)[0] is grpc.StatusCode.UNAUTHENTICATED
        # a client that trusts another CA does not trust this server
        with connect(running.address, key=TOKEN,
                     tls=tls_of(tls_material, ca=tls_material.other_ca)) as channel:
            assert route(channel)[0] is grpc.StatusCode.UNAVAILABLE
    finally:
        running.stop()


def test_connect_takes_tls_and_the_key_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, tls_material: Material, mtls: RunningServer, admin):
    make_key(admin, role=pb.ROLE_TEAM, team="team-a", subject=CLIENT_SUBJECT)
    team_b = make_key(admin, role=pb.ROLE_TEAM, team="team-b")
    for name in ("ROUTER_API_KEY", "ROUTER_TLS", "ROUTER_TLS_CERT", "ROUTER_TLS_SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROUTER_TLS_CA", str(tls_material.ca))
    monkeypatch.setenv("ROUTER_TLS_CLIENT_CERT", str(tls_material.client.cert))
    monkeypatch.setenv("ROUTER_TLS_CLIENT_KEY", str(tls_material.client.key))
    with connect(mtls.address, key="") as channel:  # the certificate's key: team-a
        code, routed = route(channel)
        assert code is grpc.StatusCode.OK and team_of(admin, routed) == "team-a"
    monkeypatch.setenv("ROUTER_API_KEY", team_b.secret)
    with connect(mtls.address) as channel:  # and ROUTER_API_KEY's bearer: team-b
        code, routed = route(channel)
        assert code is grpc.StatusCode.OK and team_of(admin, routed) == "team-b"

    async def aio_team() -> str:
        async with connect_aio(mtls.address) as channel:
            routed = await stub(channel).Route(pb.RouteRequest(task_description=TASK),
                                               timeout=10)
        return team_of(admin, routed)

    assert asyncio.run(aio_team()) == "team-b"
    # the name checked against the server's certificate (127.0.0.1 and localhost)
    monkeypatch.setenv("ROUTER_TLS_SERVER_NAME", "localhost")
    with connect(mtls.address) as channel:
        assert route(channel)[0] is grpc.StatusCode.OK
    monkeypatch.setenv("ROUTER_TLS_SERVER_NAME", "elsewhere.example")
    with connect(mtls.address) as channel:
        assert route(channel)[0] is grpc.StatusCode.UNAVAILABLE
    monkeypatch.delenv("ROUTER_TLS_SERVER_NAME")
    # without the client certificate the mTLS server is out of reach, bearer or not
    monkeypatch.delenv("ROUTER_TLS_CLIENT_CERT")
    monkeypatch.delenv("ROUTER_TLS_CLIENT_KEY")
    with connect(mtls.address) as channel:
        assert route(channel)[0] is grpc.StatusCode.UNAVAILABLE
    monkeypatch.setenv("ROUTER_TLS_CLIENT_CERT", str(tls_material.client.cert))
    with pytest.raises(ValueError, match="go together"):
        connect(mtls.address)


def test_a_self_signed_server_is_trusted_through_router_tls_cert(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """On one machine the server and its clients read the same ROUTER_TLS_CERT: without
    ROUTER_TLS_CA, the client trusts that (self-signed) certificate itself."""
    pair = self_signed(tmp_path)
    running = RunningServer(make_settings(tmp_path, admin_token=TOKEN, tls_cert=str(pair.cert),
                                          tls_key=str(pair.key)))
    try:
        for name in ("ROUTER_TLS_CA", "ROUTER_TLS_CLIENT_CERT", "ROUTER_TLS_CLIENT_KEY",
                     "ROUTER_TLS_SERVER_NAME", "ROUTER_API_KEY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ROUTER_TLS_CERT", str(pair.cert))
        with connect(running.address, key=TOKEN) as channel:
            assert stub(channel).ListApiKeys(pb.ListApiKeysRequest(), timeout=10)
        monkeypatch.delenv("ROUTER_TLS_CERT")
        monkeypatch.setenv("ROUTER_TLS", "on")  # the system's trust store: not this certificate
        with connect(running.address, key=TOKEN) as channel:
            assert route(channel)[0] is grpc.StatusCode.UNAVAILABLE
    finally:
        running.stop()


def test_bad_tls_material_stops_start_up_naming_the_setting(tls_material, tmp_path):
    """Not gRPC's 'failed to bind' from deep inside the server: the setting at fault."""
    from router.auth.tls import server_tls

    m = tls_material
    assert server_tls(str(m.server.cert), str(m.server.key), str(m.ca)) is not None
    with pytest.raises(ValueError, match=r"ROUTER_TLS_CERT=.*not a certificate chain and its"):
        server_tls(str(m.server.cert), str(m.client.key), "")  # another certificate's key
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError, match=r"ROUTER_TLS_CLIENT_CA=.*not a CA bundle"):
        server_tls(str(m.server.cert), str(m.server.key), str(junk))
    with pytest.raises(ValueError, match="ROUTER_TLS_CERT="):
        server_tls(str(junk), str(m.server.key), "")
