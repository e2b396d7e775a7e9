"""A private certificate authority for serving the emulator over HTTPS on one machine.

``make_local_ca(directory, hosts)`` writes a fresh CA (key and self-signed certificate) and a
server certificate for ``hosts`` signed by it, and returns their paths. A client trusts the
server by taking ``ca_file`` as its CA bundle: Python's ``ssl`` through ``SSL_CERT_FILE`` or
``cafile``, botocore through ``AWS_CA_BUNDLE`` or ``verify``. Nothing is reused across runs:
each call makes new keys (a few milliseconds), valid for a day, so a CA left on disk is
worthless after its run, and no system trust store is touched.

The certificates are shaped to pass OpenSSL's strict X.509 checks, which Python 3.13's
``ssl.create_default_context`` turns on (``VERIFY_X509_STRICT``): the CA's basic constraints
are critical and it has key usage and a subject key identifier; the server certificate names
its hosts in subjectAltName only and carries the CA's authority key identifier.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "localhost")
VALIDITY = datetime.timedelta(days=1)
# notBefore is set this far in the past, so a client whose clock runs a little behind accepts it.
CLOCK_SKEW = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class LocalCertificates:
    """PEM files: ``ca_file`` for clients to trust, ``cert_file`` and ``key_file`` for the server."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    @property
    def ca_bundle(self) -> str:
        """The CA certificate's path, as ``verify=``, ``AWS_CA_BUNDLE`` and ``SSL_CERT_FILE`` take it."""
        return str(self.ca_file)

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only, host names checked."""
        return ssl.create_default_context(cafile=self.ca_bundle)


def make_local_ca(directory: Path | str, hosts: Iterable[str] = DEFAULT_HOSTS) -> LocalCertificates:
    """Writes ``ca.pem``, ``server.pem`` and ``server-key.pem`` into ``directory`` (created if
    missing): a new CA and a certificate it signed for ``hosts`` (IP addresses and DNS names,
    each as the subjectAltName of its kind). The CA's own key is not kept: nothing else is to
    be signed with it."""
    names = list(dict.fromkeys(host for host in hosts if host))
    if not names:
        raise ValueError("a server certificate needs at least one host")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    not_before, not_after = now - CLOCK_SKEW, now + VALIDITY

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3flow local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([_general_name(host) for host in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    certificates = LocalCertificates(
        ca_file=folder / "ca.pem", cert_file=folder / "server.pem", key_file=folder / "server-key.pem"
    )
    certificates.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certificates.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(
        certificates.key_file,
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return certificates


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_private(path: Path, data: bytes) -> None:
    """Writes ``data`` readable by its owner only, from the moment the file exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file already there keeps its mode through O_CREAT
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
