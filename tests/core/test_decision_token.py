"""Decision tokens: what Route signs, ReportUsage can trust, and nothing else."""

from __future__ import annotations

import pytest

from router.core import decision_token
from router.core.errors import InvalidRequest
from router.core.records import Attribution, CandidateRecord, DecisionRecord

KEY = b"k" * 32


def decision(**overrides: object) -> DecisionRecord:
    base = dict(
        decision_id="d0001", request_id="req-1", request_hash="ab" * 16, created_us=1_700_000,
        attribution=Attribution(team="t", agent="a", task_id="x", task_type="y", user="u",
                                labels={"env": "prod"}),
        model="m1", provider="p", complexity_label="easy", complexity_score=0.25,
        quality_target=0.7, predicted_quality=0.8, input_tokens=120, output_tokens=40,
        predicted_cost=1234, currency="USD", reason_code=1, reason_message="cheapest",
        fallbacks=("m2",),
        candidates=(CandidateRecord("m1", "p", 0.8, 40, 1234, 0),
                    CandidateRecord("m2", "p", 0.9, 50, 5000, 0),
                    CandidateRecord("m3", "q", 0.95, 60, 9000, 0)),
        classifier_version="v3")
    return DecisionRecord(**{**base, **overrides})  # type: ignore[arg-type]


def test_a_token_carries_the_decision_with_its_chosen_and_fallback_predictions():
    d = decision()
    back = decision_token.verify(decision_token.sign(d, KEY), KEY, "d0001")
    assert back == decision(candidates=d.candidates[:2])  # m3 was neither chosen nor a fallback


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the tag
    lambda t: t.replace(".", ".e", 1),  # the body
    lambda t: "v2" + t[2:],  # the version
    lambda t: t.split(".")[0],  # no body, no tag
])
def test_an_altered_token_is_refused_naming_the_field(tamper):
    token = decision_token.sign(decision(), KEY)
    with pytest.raises(InvalidRequest) as err:
        decision_token.verify(tamper(token), KEY, "d0001")
    assert err.value.violations[0].field == "decision_token"


def test_a_token_signed_by_another_deployment_is_refused():
    token = decision_token.sign(decision(), b"other key")
    with pytest.raises(InvalidRequest, match="not signed by this deployment"):
        decision_token.verify(token, KEY, "d0001")


def test_a_token_cannot_vouch_for_another_decision():
    token = decision_token.sign(decision(), KEY)
    with pytest.raises(InvalidRequest, match="another decision"):
        decision_token.verify(token, KEY, "d0002")


def test_an_oversized_token_is_refused_before_any_work():
    with pytest.raises(InvalidRequest, match="at most"):
        decision_token.verify("v1." + "A" * decision_token.MAX_TOKEN_CHARS, KEY, "d0001")


def test_a_token_issued_before_the_encoder_changed_still_verifies():
    """Tokens in flight across an upgrade: the stdlib encoder's (ASCII-escaped) bodies verify,
    since the tag covers the body as sent; non-ASCII keys and labels round-trip either way."""
    import json

    d = decision(attribution=Attribution(team="équipe", user="zoë@example.com",
                                         labels={"région": "Zürich"}))
    fresh = decision_token.verify(decision_token.sign(d, KEY), KEY, "d0001")
    payload = json.loads(decision_token._unb64(decision_token.sign(d, KEY).split(".")[1]))
    body = decision_token._b64(json.dumps(payload, separators=(",", ":")).encode())
    assert "\\u00e9" in json.dumps(payload, separators=(",", ":"))  # the old, escaped form
    old = f"v1.{body}.{decision_token._tag(KEY, body)}"
    assert decision_token.verify(old, KEY, "d0001") == fresh
    assert fresh.attribution == d.attribution
