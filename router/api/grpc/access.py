"""API keys and the audit trail at the gRPC edge (admin only: ``KeyService``, ``AuditLog``)."""

from __future__ import annotations

from typing import Any

from router import v1 as pb
from router.api import convert
from router.api.grpc.auth import Callers
from router.api.grpc.base import Context, Offload, RpcBase
from router.auth import Principal
from router.service.access import AuditLog, KeyService


class AccessRpcs(RpcBase):
    def __init__(self, keys: KeyService, audit: AuditLog, offload: Offload,
                 callers: Callers) -> None:
        super().__init__(offload, callers)
        self._keys = keys
        self._audit = audit

    async def CreateApiKey(self, request: pb.CreateApiKeyRequest,
                           context: Context) -> pb.CreateApiKeyResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.CreateApiKeyResponse:
            who.require_admin("making API keys")
            spec = convert.key_spec(request.key)
            record, secret = await self._blocking(self._keys.create, who, spec)
            line.update(key_id=record.key_id, role=spec.role.value, team=spec.team)
            return pb.CreateApiKeyResponse(key=convert.api_key(record), secret=secret)

        return await self._handle("CreateApiKey", request, context, body)

    async def ListApiKeys(self, request: pb.ListApiKeysRequest,
                          context: Context) -> pb.ListApiKeysResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ListApiKeysResponse:
            records = await self._blocking(self._keys.list, who, request.include_revoked,
                                           request.team)
            line["keys"] = len(records)
            return pb.ListApiKeysResponse(keys=[convert.api_key(r) for r in records])

        return await self._handle("ListApiKeys", request, context, body)

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest,
                           context: Context) -> pb.RevokeApiKeyResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.RevokeApiKeyResponse:
            line["key_id"] = request.key_id
            record, was_active = await self._blocking(self._keys.revoke, who, request.key_id)
            return pb.RevokeApiKeyResponse(key=convert.api_key(record), was_active=was_active)

        return await self._handle("RevokeApiKey", request, context, body)

    async def ListAuditEvents(self, request: pb.ListAuditEventsRequest,
                              context: Context) -> pb.ListAuditEventsResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ListAuditEventsResponse:
            who.require_admin("reading the audit trail")
            since = convert.optional_time_us(request, "since")
            events = await self._blocking(self._audit.list, who, since,
                                          tuple(request.actions), request.page_size)
            line["events"] = len(events)
            return pb.ListAuditEventsResponse(events=[convert.audit_event(e) for e in events])

        return await self._handle("ListAuditEvents", request, context, body)
