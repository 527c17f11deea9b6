"""Keys, their digests, and authenticating a call's credentials."""

from __future__ import annotations

import pytest

from router.auth import BOOTSTRAP, AuthMode, KeyRecord, Keyring, KeySpec, Role, StartRefused
from router.auth.keyring import ANONYMOUS, is_loopback, startup_mode
from router.auth.keys import digest, key_id_of, new_key
from router.core.errors import InvalidRequest, Unauthenticated

PEPPER = b"p" * 32
NOW = 1_767_225_600_000_000


def record(spec: KeySpec, revoked_us: int | None = None) -> tuple[KeyRecord, str]:
    key_id, secret = new_key()
    return KeyRecord(key_id, digest(PEPPER, secret), spec, NOW, "bootstrap", revoked_us), secret


def test_a_key_is_random_names_its_id_and_is_stored_only_as_a_keyed_digest():
    key_id, secret = new_key()
    assert secret.startswith(key_id + "_") and key_id_of(secret) == key_id
    assert len(secret) == len(key_id) + 1 + 43  # 32 random bytes, base64url
    assert new_key()[1] != secret
    assert digest(PEPPER, secret) != digest(b"q" * 32, secret)  # keyed: the table alone
    assert secret not in digest(PEPPER, secret)  # cannot confirm a leaked key
    assert key_id_of("rk_0123_short") is None and key_id_of("s3cret") is None


def test_a_valid_key_is_its_principal_and_the_bootstrap_token_is_admin():
    rec, secret = record(KeySpec(Role.TEAM, "eng"))
    ring = Keyring(PEPPER, admin_token="boot")
    ring.load([rec])
    who = ring.authenticate(f"Bearer {secret}", NOW)
    assert (who.key_id, who.role, who.team) == (rec.key_id, Role.TEAM, "eng")
    assert ring.authenticate(f"bearer  {secret} ", NOW) == who  # scheme case, spaces
    assert ring.authenticate("Bearer boot", NOW) is BOOTSTRAP


@pytest.mark.parametrize(("header", "message"), [
    ("", "needs the metadata"),
    ("Basic dXNlcjpwYXNz", "must read 'Bearer <key>'"),
    ("Bearer", "must read 'Bearer <key>'"),
    ("Bearer rk_0123456789ab_" + "A" * 43, "the key is not valid"),
    ("Bearer guess", "neither an API key"),
])
def test_no_or_a_wrong_credential_is_unauthenticated(header, message):
    ring = Keyring(PEPPER, admin_token="boot")
    ring.load([record(KeySpec(Role.READER))[0]])
    with pytest.raises(Unauthenticated, match=message):
        ring.authenticate(header, NOW)


def test_revoked_and_expired_keys_are_refused_by_name():
    revoked, r_secret = record(KeySpec(Role.READER), revoked_us=NOW)
    expiring, e_secret = record(KeySpec(Role.READER, expires_us=NOW + 10))
    ring = Keyring(PEPPER)
    ring.load([revoked, expiring])
    with pytest.raises(Unauthenticated, match=f"{revoked.key_id} was revoked"):
        ring.authenticate(f"Bearer {r_secret}", NOW)
    assert ring.authenticate(f"Bearer {e_secret}", NOW + 9).key_id == expiring.key_id
    with pytest.raises(Unauthenticated, match=f"{expiring.key_id} has expired"):
        ring.authenticate(f"Bearer {e_secret}", NOW + 10)


def test_an_open_server_takes_calls_without_a_key_until_the_first_key_exists():
    ring = Keyring(PEPPER)
    assert not ring.enforcing and ring.authenticate("", NOW) is ANONYMOUS
    with pytest.raises(Unauthenticated):  # a credential that is sent is checked all the same
        ring.authenticate("Bearer wrong", NOW)
    rec, _ = record(KeySpec(Role.READER), revoked_us=NOW)
    ring.load([rec])  # even a revoked key: revoking every key never opens the server again
    assert ring.enforcing
    with pytest.raises(Unauthenticated):
        ring.authenticate("", NOW)
    assert not Keyring(PEPPER, mode=AuthMode.OFF, enforce=True).enforcing
    assert Keyring(PEPPER, mode=AuthMode.ON).enforcing


def test_a_certificate_subject_authenticates_as_its_key_until_revoked():
    rec, _ = record(KeySpec(Role.TEAM, "eng", subject="CN=bot,O=Acme"))
    ring = Keyring(PEPPER)
    ring.load([rec])
    assert ring.authenticate("", NOW, subject="CN=bot,O=Acme").key_id == rec.key_id
    with pytest.raises(Unauthenticated):
        ring.authenticate("", NOW, subject="CN=other")
    ring.load([KeyRecord(rec.key_id, rec.digest, rec.spec, NOW, "bootstrap", NOW)])
    with pytest.raises(Unauthenticated):
        ring.authenticate("", NOW, subject="CN=bot,O=Acme")


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1:50051", True), ("localhost:1", True), ("[::1]:50051", True),
    ("127.8.0.1:1", True), ("0.0.0.0:50051", False), ("[::]:50051", False),
    ("10.0.0.5:50051", False), ("router.internal:50051", False)])
def test_loopback_is_told_from_everything_else(address, loopback):
    assert is_loopback(address) is loopback


def test_listening_beyond_loopback_with_nothing_to_authenticate_refuses_to_start():
    with pytest.raises(StartRefused, match="ROUTER_AUTH=off") as refused:
        startup_mode(AuthMode.AUTO, ["0.0.0.0:50051"], keys_exist=False, admin_token="")
    assert "0.0.0.0:50051" in str(refused.value) and "ROUTER_ADMIN_TOKEN" in str(refused.value)
    assert startup_mode(AuthMode.AUTO, ["0.0.0.0:1"], False, "boot").enforce
    assert startup_mode(AuthMode.AUTO, ["0.0.0.0:1"], True, "").enforce
    assert not startup_mode(AuthMode.OFF, ["0.0.0.0:1"], False, "").enforce
    opened = startup_mode(AuthMode.AUTO, ["127.0.0.1:1"], False, "")
    assert not opened.enforce and "running open" in opened.message


@pytest.mark.parametrize(("spec", "field"), [
    (KeySpec(Role.TEAM), "key.team"),
    (KeySpec(Role.ADMIN, team="eng"), "key.team"),
    (KeySpec(Role.READER, agents=frozenset({"a"})), "key.agents"),
    (KeySpec(Role.TEAM, "eng", permissions=frozenset({"root"})), "key.permissions"),
    (KeySpec(Role.READER, permissions=frozenset({"budgets"})), "key.permissions"),
    (KeySpec(Role.TEAM, "eng", expires_us=NOW), "key.expire_time"),
    (KeySpec(Role.TEAM, "bad team"), "key.team"),
    (KeySpec(Role.ANONYMOUS), "key.role"),
])
def test_a_key_spec_that_makes_no_sense_is_refused_naming_the_field(spec, field):
    with pytest.raises(InvalidRequest) as refused:
        spec.validate(NOW)
    assert field in {v.field for v in refused.value.violations}
