"""A local development certificate for the server add-in (`jixiao addin cert`): Office only
loads add-ins over https with a certificate the computer trusts.  One self-signed certificate,
usable as its own root (basicConstraints CA, keyCertSign) so it can be put into the trusted
root store on Windows or the keychain on macOS (steps in addin/README.md), for localhost,
127.0.0.1 and ::1 plus any host names given."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

CERT_FILE = "jixiao-addin-cert.pem"
KEY_FILE = "jixiao-addin-key.pem"
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
COMMON_NAME = "jixiao 绩效自评 加载项 开发证书"


@dataclass
class DevCert:
    cert: Path
    key: Path
    hosts: tuple[str, ...]
    fingerprint: str  # SHA-256 of the certificate, as Windows and macOS show it
    spki_sha256: str  # base64 SHA-256 of the public key (what Chromium's SPKI lists take)
    not_after: dt.datetime


def create(folder: str | Path, hosts: tuple[str, ...] = (), days: int = 825, overwrite: bool = False) -> DevCert:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise RuntimeError("生成证书需要 cryptography：pip install \"jixiao[server]\"") from None
    if not 1 <= days <= 825:  # 825 days: the longest validity macOS accepts for a TLS server certificate
        raise ValueError(f"有效天数应在 1 到 825 之间：{days}")
    out = Path(folder)
    cert_path, key_path = out / CERT_FILE, out / KEY_FILE
    existing = [p for p in (cert_path, key_path) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"已存在 {existing[0]}：不覆盖（要重新生成请加 --force）")
    names = tuple(dict.fromkeys((*DEFAULT_HOSTS, *hosts)))
    san = []
    for name in names:
        try:
            san.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            if not name or any(c in name for c in " /\\:@"):
                raise ValueError(f"主机名无效：{name!r}") from None
            san.append(x509.DNSName(name))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jixiao")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    out.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    try:
        key_path.chmod(0o600)
    except OSError:  # Windows: permissions are ACLs
        pass
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return DevCert(cert_path, key_path, names, cert.fingerprint(hashes.SHA256()).hex(":").upper(),
                   spki_sha256(cert), cert.not_valid_after_utc)


def spki_sha256(cert) -> str:
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization

    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def load_spki(cert_path: str | Path) -> str:
    from cryptography import x509

    return spki_sha256(x509.load_pem_x509_certificate(Path(cert_path).read_bytes()))


__all__ = ["CERT_FILE", "KEY_FILE", "DevCert", "create", "load_spki"]
