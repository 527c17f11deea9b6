"""Throwaway TLS material for the tests: a CA, a server certificate for 127.0.0.1 and localhost,
and client certificates, all signed by the CA and written as PEM files."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Material:
    ca: Path  # the CA's certificate: the clients' trust root and the server's client CA
    server: Pair
    client: Pair  # subject CN=agent-a,O=team-a
    stranger: Pair  # subject CN=stranger: signed by the CA, mapped to no key
    other_ca: Path  # a CA that signed neither the server's nor the clients' certificates


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(**parts: str) -> x509.Name:
    oids = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME,
            "OU": NameOID.ORGANIZATIONAL_UNIT_NAME}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts.items()])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None
           ) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    subject = _name(CN=name)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def _leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, subject: x509.Name, *,
          server: bool) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1))
               .not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(
                   [ExtendedKeyUsageOID.SERVER_AUTH if server
                    else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def self_signed(directory: Path) -> Pair:
    """A server certificate for 127.0.0.1 and localhost that signs itself (no CA)."""
    key = _key()
    now = dt.datetime.now(dt.UTC)
    name = _name(CN="router")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    _write(directory / "self-signed.pem", cert, key)
    return Pair(directory / "self-signed.pem", directory / "self-signed.key")


def client_pair(directory: Path, ca_path: Path, name: str, **subject: str) -> Pair:
    """Another client certificate signed by the CA at ``ca_path`` (its key beside it)."""
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_path.with_suffix(".key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    cert, key = _leaf(ca, ca_key, _name(**subject), server=False)
    _write(directory / f"{name}.pem", cert, key)
    return Pair(directory / f"{name}.pem", directory / f"{name}.key")


def make_material(directory: Path) -> Material:
    ca, ca_key = _ca("router test CA")
    _write(directory / "ca.pem", ca, ca_key)
    server, server_key = _leaf(ca, ca_key, _name(CN="router"), server=True)
    _write(directory / "server.pem", server, server_key)
    other, other_key = _ca("some other CA")
    _write(directory / "other-ca.pem", other, other_key)
    client = client_pair(directory, directory / "ca.pem", "client", CN="agent-a", O="team-a")
    stranger = client_pair(directory, directory / "ca.pem", "stranger", CN="stranger")
    return Material(directory / "ca.pem", Pair(directory / "server.pem", directory / "server.key"),
                    client, stranger, directory / "other-ca.pem")
