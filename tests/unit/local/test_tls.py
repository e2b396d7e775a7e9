"""The local CA: its server certificate verifies, with Python's ssl, for the hosts it names only.

The handshakes run in memory (``ssl.MemoryBIO``): no socket, as the unit tier requires.
"""

from __future__ import annotations

import datetime
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from s3flow.local.tls import CLOCK_SKEW, LocalCertificates, make_local_ca


def handshake(certificates: LocalCertificates, server_hostname: str, client: ssl.SSLContext) -> None:
    """A TLS handshake between ``client`` (asking for ``server_hostname``) and a server
    presenting ``certificates``; raises what the client's verification raises."""
    server = certificates.server_context()
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client_side = client.wrap_bio(client_in, client_out, server_hostname=server_hostname)
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side in (("client", client_side), ("server", server_side)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if all(done.values()):
            return
    raise AssertionError("the handshake did not finish")


def strict_client(certificates: LocalCertificates) -> ssl.SSLContext:
    """What the functions build (ssl.create_default_context, the CA from SSL_CERT_FILE), with
    the strict X.509 checks Python 3.13's default context adds, as on Lambda."""
    context = certificates.client_context()
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> LocalCertificates:
    return make_local_ca(tmp_path_factory.mktemp("tls"), ["127.0.0.1", "localhost", "127.0.0.1"])


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_server_certificate_verifies_for_each_host_it_was_made_for(certificates, host):
    handshake(certificates, host, strict_client(certificates))


@pytest.mark.parametrize("host", ["example.internal", "127.0.0.2"])
def test_the_server_certificate_does_not_verify_for_another_host(certificates, host):
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(certificates, host, strict_client(certificates))


def test_a_client_trusting_another_local_ca_refuses_the_server(certificates, tmp_path: Path):
    other = make_local_ca(tmp_path)

    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(certificates, "127.0.0.1", strict_client(other))


def test_a_bind_host_given_by_name_is_a_dns_name_and_one_by_address_an_ip_address(tmp_path: Path):
    made = make_local_ca(tmp_path, ["localhost", "my-laptop", "10.1.2.3"])

    certificate = x509.load_pem_x509_certificate(made.cert_file.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "my-laptop"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]


def test_the_certificates_are_short_lived_and_absorb_some_clock_skew(certificates):
    before = datetime.datetime.now(datetime.UTC)
    for path in (certificates.ca_file, certificates.cert_file):
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
        lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
        assert lifetime <= datetime.timedelta(days=1) + CLOCK_SKEW
        assert certificate.not_valid_before_utc <= before - CLOCK_SKEW + datetime.timedelta(minutes=1)


def test_the_private_key_is_readable_by_its_owner_only_and_the_ca_key_is_not_kept(certificates):
    assert stat.S_IMODE(certificates.key_file.stat().st_mode) == 0o600
    assert sorted(path.name for path in certificates.ca_file.parent.iterdir()) == [
        "ca.pem",
        "server-key.pem",
        "server.pem",
    ]
    assert certificates.ca_bundle == str(certificates.ca_file)


def test_no_host_is_an_error(tmp_path: Path):
    with pytest.raises(ValueError, match="at least one host"):
        make_local_ca(tmp_path, [])
