"""TLS material from the settings, read once and checked, for the server and the clients.

Server: ``ROUTER_TLS_CERT`` + ``ROUTER_TLS_KEY`` serve TLS; ``ROUTER_TLS_CLIENT_CA`` also
requires a client certificate signed by that CA (mTLS).
Clients (the CLI, ``router.client``): ``ROUTER_TLS_CA`` is the CA that signed the server's
certificate (without it, ``ROUTER_TLS_CERT`` itself is trusted when set, which serves a
self-signed certificate on the same machine); ``ROUTER_TLS_CLIENT_CERT`` +
``ROUTER_TLS_CLIENT_KEY`` are the client's own certificate for mTLS;
``ROUTER_TLS_SERVER_NAME`` overrides the name checked against the server's certificate.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def read_pem(path: str, setting: str) -> bytes:
    """The PEM file's bytes; ValueError naming the setting when it cannot be read or holds no
    PEM block (a clear start-up error instead of a TLS handshake that fails later)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{setting}={path!r}: {exc.strerror or exc}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{setting}={path!r} holds no PEM data")
    return data


@dataclass(frozen=True, slots=True)
class ServerTls:
    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None  # require client certificates signed by it


def server_tls(cert: str, key: str, client_ca: str) -> ServerTls | None:
    """The server's TLS material, checked as TLS will use it (the certificate parses and the
    key is its key; the CA bundle parses): a bad file stops start-up naming its setting,
    where gRPC would only say that it cannot bind the port."""
    if not cert:
        return None
    tls = ServerTls(read_pem(cert, "ROUTER_TLS_CERT"), read_pem(key, "ROUTER_TLS_KEY"),
                    read_pem(client_ca, "ROUTER_TLS_CLIENT_CA") if client_ca else None)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ValueError(f"ROUTER_TLS_CERT={cert!r} / ROUTER_TLS_KEY={key!r}: not a certificate "
                         f"chain and its private key ({exc.reason or exc})") from None
    if client_ca:
        try:
            context.load_verify_locations(cafile=client_ca)
        except ssl.SSLError as exc:
            raise ValueError(f"ROUTER_TLS_CLIENT_CA={client_ca!r}: not a CA bundle "
                             f"({exc.reason or exc})") from None
    return tls


@dataclass(frozen=True, slots=True)
class ClientTls:
    root_certificates: bytes | None  # None: the system's trust store
    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    server_name: str = ""


def client_tls(env: Mapping[str, str] | None = None) -> ClientTls | None:
    """The client's TLS from ``ROUTER_TLS_*`` in ``env`` (default: the process environment);
    None when none is set (plain text, e.g. to a server on loopback)."""
    env = os.environ if env is None else env
    ca = env.get("ROUTER_TLS_CA") or env.get("ROUTER_TLS_CERT") or ""
    cert = env.get("ROUTER_TLS_CLIENT_CERT", "")
    key = env.get("ROUTER_TLS_CLIENT_KEY", "")
    if bool(cert) != bool(key):
        raise ValueError("ROUTER_TLS_CLIENT_CERT and ROUTER_TLS_CLIENT_KEY go together")
    if not (ca or cert or env.get("ROUTER_TLS") == "on"):
        return None
    return ClientTls(
        read_pem(ca, "ROUTER_TLS_CA") if ca else None,
        read_pem(cert, "ROUTER_TLS_CLIENT_CERT") if cert else None,
        read_pem(key, "ROUTER_TLS_CLIENT_KEY") if key else None,
        env.get("ROUTER_TLS_SERVER_NAME", ""))
