"""Decision tokens: a Route's decision, signed, for the caller to hand back with its usage.

Route answers before its decision is committed (the group commit writes it a moment later), so
a crash in between would lose a decision the caller already holds. The token closes that gap
without a database write on the hot path: it carries what ReportUsage needs (the decision's id,
keys, chosen model and fallbacks with their predictions), signed with the deployment's key
(HMAC-SHA256), so a usage against a decision the store never saw is still recorded once, with
the attribution and prediction the caller was given, and the decision itself is restored.

Format: ``v1.<base64url JSON>.<base64url first 16 bytes of the HMAC>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from router.core.errors import InvalidRequest
from router.core.records import Attribution, CandidateRecord, DecisionRecord

VERSION = "v1"
TAG_BYTES = 16  # 128 bits of HMAC-SHA256: forging one is out of reach
MAX_TOKEN_CHARS = 64 * 1024  # far above any real decision (labels are bounded)
FIELD = "decision_token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, body: str) -> str:
    # hmac.digest: the one-shot C path, several times cheaper than hmac.new(...).digest()
    return _b64(hmac.digest(key, f"{VERSION}.{body}".encode(), hashlib.sha256)[:TAG_BYTES])


def sign(d: DecisionRecord, key: bytes) -> str:
    """The token of ``d``: its chosen model and fallbacks' predictions, not every candidate."""
    kept = {d.model, *d.fallbacks}
    payload = {
        "d": d.decision_id, "t": d.created_us, "r": d.request_id, "h": d.request_hash,
        "a": d.attribution.as_dict(), "m": d.model, "p": d.provider,
        "cl": d.complexity_label, "cs": d.complexity_score, "q": d.quality_target,
        "pq": d.predicted_quality, "i": d.input_tokens, "o": d.output_tokens,
        "c": d.predicted_cost, "cur": d.currency, "rc": d.reason_code, "rm": d.reason_message,
        "f": list(d.fallbacks), "k": [list(c) for c in d.candidates if c.model in kept],
        "v": d.classifier_version,
    }
    if d.prior_quality is not None:  # the learner moved the quality: the classifier's own
        payload["pp"] = d.prior_quality
    # orjson: a third of the stdlib encoder's time on the hot path; the tag covers the body's
    # bytes as sent, so tokens of either encoder verify alike
    body = _b64(orjson.dumps(payload))
    return f"{VERSION}.{body}.{_tag(key, body)}"


def verify(token: str, key: bytes, decision_id: str) -> DecisionRecord:
    """The decision a token carries, if ``key`` signed it and it is ``decision_id``'s;
    InvalidRequest naming ``decision_token`` otherwise."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidRequest.of(FIELD, f"must be at most {MAX_TOKEN_CHARS} characters")
    version, _, rest = token.partition(".")
    body, _, tag = rest.partition(".")
    if version != VERSION or not body or not tag:
        raise InvalidRequest.of(FIELD, "is not a decision token of this service")
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise InvalidRequest.of(FIELD, "was not signed by this deployment (or was altered)")
    try:
        p: dict[str, Any] = orjson.loads(_unb64(body))
        record = DecisionRecord(
            decision_id=p["d"], request_id=p["r"], request_hash=p["h"], created_us=p["t"],
            attribution=Attribution(**p["a"]), model=p["m"], provider=p["p"],
            complexity_label=p["cl"], complexity_score=p["cs"], quality_target=p["q"],
            predicted_quality=p["pq"], input_tokens=p["i"], output_tokens=p["o"],
            predicted_cost=p["c"], currency=p["cur"], reason_code=p["rc"],
            reason_message=p["rm"], fallbacks=tuple(p["f"]),
            candidates=tuple(CandidateRecord(*c) for c in p["k"]),
            classifier_version=p["v"], prior_quality=p.get("pp"))
    except (ValueError, KeyError, TypeError) as exc:  # signed by us, so only a version skew
        # (orjson.JSONDecodeError is a ValueError)
        raise InvalidRequest.of(FIELD, f"cannot be read: {exc}") from None
    if record.decision_id != decision_id:
        raise InvalidRequest.of(FIELD, "belongs to another decision than decision_id")
    return record
