"""Credentials at the gRPC edge: the metadata an admin call must carry."""

from __future__ import annotations

import hmac

import grpc

from router.core.errors import PermissionDenied, Unauthenticated


class AdminCheck:
    """Mutating budget and detection RPCs need ``authorization: Bearer <admin token>``."""

    def __init__(self, admin_token: str) -> None:
        self._token = admin_token.encode()

    def require(self, context: grpc.aio.ServicerContext) -> None:
        header = dict(context.invocation_metadata() or ()).get("authorization", "")
        if not header:
            raise Unauthenticated("this call needs the metadata 'authorization: Bearer <admin "
                                  "token>'")
        if isinstance(header, bytes):
            header = header.decode(errors="replace")
        scheme, _, token = header.partition(" ")
        if not self._token:
            raise PermissionDenied("budget management is disabled: no admin token is "
                                   "configured (ROUTER_ADMIN_TOKEN)")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                                  self._token):
            raise PermissionDenied("the admin token is not valid")
