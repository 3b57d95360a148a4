"""The sandbox's self-signed TLS certificate and its access token, kept in the sandbox dir.

simple-salesforce always builds ``https://`` URLs, so the sandbox serves HTTPS with a
certificate for ``localhost`` and ``127.0.0.1`` that the client session trusts as its CA
bundle (``CrmConnection.ca_bundle``).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
TOKEN_FILE = "token"


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file readable by the owner only (mode 0600)."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_token(sandbox_dir: Path) -> Path:
    """The token file, created at first use (``secrets.token_urlsafe``, mode 0600)."""
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    path = sandbox_dir / TOKEN_FILE
    if not path.exists() or not path.read_text().strip():
        _write_private(path, (secrets.token_urlsafe(32) + "\n").encode())
    return path


def read_token(sandbox_dir: Path) -> str:
    """The access token (creating it if needed)."""
    return ensure_token(sandbox_dir).read_text().strip()


def _cert_is_usable(cert_path: Path, key_path: Path) -> bool:
    if not cert_path.exists() or not key_path.exists():
        return False
    from cryptography import x509  # noqa: PLC0415

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - datetime.now(UTC) > timedelta(days=7)


def ensure_certificate(sandbox_dir: Path) -> tuple[Path, Path]:
    """(cert, key) paths of a self-signed certificate for localhost/127.0.0.1, generated
    with ``cryptography`` when missing or about to expire."""
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    cert_path = sandbox_dir / CERT_FILE
    key_path = sandbox_dir / KEY_FILE
    if _cert_is_usable(cert_path, key_path):
        return cert_path, key_path

    from cryptography import x509  # noqa: PLC0415 - only needed on first start
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "leadscore CRM sandbox"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    tmp = cert_path.with_name(cert_path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, cert_path)
    return cert_path, key_path
