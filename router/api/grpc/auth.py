"""Credentials at the gRPC edge: the call's ``authorization`` metadata and, over mTLS, its
client certificate's subject, handed to the key service (``router.service.access``)."""

from __future__ import annotations

from typing import Any

from router.auth import Principal
from router.service.access import KeyService


class Callers:
    """Who a call is: one pass over its metadata, one HMAC and one dictionary lookup."""

    def __init__(self, keys: KeyService, *, client_certificates: bool = False) -> None:
        self._keys = keys
        self._client_certificates = client_certificates

    def of(self, context: Any) -> Principal:
        authorization = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                authorization = value.decode(errors="replace") if isinstance(value, bytes) \
                    else value
                break
        subject = ""
        if not authorization and self._client_certificates:
            subject = certificate_subject(context)
        return self._keys.authenticate(authorization, subject)


def certificate_subject(context: Any) -> str:
    """The verified client certificate's subject (RFC 4514, as gRPC's TLS library prints it),
    or "" when the call carries none."""
    values = (context.auth_context() or {}).get("x509_subject") or ()
    return values[0].decode(errors="replace") if values else ""
