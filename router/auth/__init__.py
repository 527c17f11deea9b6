"""Access control, free of any transport: principals and roles (``principal``), API keys
(``keys``), authenticating a call's credentials (``keyring``), the audit trail's entries
(``audit``) and TLS material (``tls``). Each edge (gRPC, HTTP) adapts these to its own
metadata; the services ask the ``Principal`` before they act.

The names below are imported on first use (PEP 562), so that ``router.client``, which needs
only ``router.auth.tls``, does not pull the domain (and numpy) in with the package."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.auth.audit import ACTIONS, AuditEvent
    from router.auth.keyring import AuthMode, Keyring, StartRefused, Startup, startup_mode
    from router.auth.keys import KeyRecord, KeySpec
    from router.auth.principal import ANONYMOUS, BOOTSTRAP, SYSTEM, Principal, Role

_HOMES = {"audit": ("ACTIONS", "AuditEvent"),
          "keyring": ("AuthMode", "Keyring", "StartRefused", "Startup", "startup_mode"),
          "keys": ("KeyRecord", "KeySpec"),
          "principal": ("ANONYMOUS", "BOOTSTRAP", "SYSTEM", "Principal", "Role")}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = ["ACTIONS", "ANONYMOUS", "BOOTSTRAP", "SYSTEM", "AuditEvent", "AuthMode", "KeyRecord",
           "KeySpec", "Keyring", "Principal", "Role", "StartRefused", "Startup",
           "startup_mode"]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'router.auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"router.auth.{module}"), name)
    globals()[name] = value
    return value
