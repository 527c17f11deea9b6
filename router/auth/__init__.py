"""Access control, free of any transport: principals and roles (``principal``), API keys
(``keys``), authenticating a call's credentials (``keyring``), the audit trail's entries
(``audit``) and TLS material (``tls``). Each edge (gRPC, HTTP) adapts these to its own
metadata; the services ask the ``Principal`` before they act."""

from router.auth.audit import ACTIONS, AuditEvent
from router.auth.keyring import AuthMode, Keyring, StartRefused, Startup, startup_mode
from router.auth.keys import KeyRecord, KeySpec
from router.auth.principal import ANONYMOUS, BOOTSTRAP, SYSTEM, Principal, Role

__all__ = ["ACTIONS", "ANONYMOUS", "BOOTSTRAP", "SYSTEM", "AuditEvent", "AuthMode", "KeyRecord",
           "KeySpec", "Keyring", "Principal", "Role", "StartRefused", "Startup",
           "startup_mode"]
