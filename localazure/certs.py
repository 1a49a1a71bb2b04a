"""A throw-away TLS identity for the local HTTPS servers (ARM endpoint, Azurite).

``TestCA.create(directory)`` writes one self-signed certificate for ``127.0.0.1`` / ``::1`` / ``localhost``
that is both the trust anchor (``ca.pem``: point ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` /
``NODE_EXTRA_CA_CERTS`` here) and the certificate every local server presents (``server.pem`` +
``server-key.pem``). Nothing touches the system trust store.

Why self-signed rather than a CA plus a leaf (e.g. ``trustme``): Azurite's Put Block From URL fetches the
source from itself through an HTTPS agent that trusts exactly the certificate it serves
(``getLoopbackHttpsAgent``); a leaf issued by a separate CA fails there with "self-signed certificate in
certificate chain". A self-signed certificate with ``CA:TRUE`` satisfies Node, OpenSSL/Python and requests
alike.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TestCA:
    ca_bundle: Path  # PEM trust anchor: REQUESTS_CA_BUNDLE / SSL_CERT_FILE / NODE_EXTRA_CA_CERTS
    server_cert: Path  # PEM certificate the servers present (127.0.0.1, ::1, localhost)
    server_key: Path  # PEM private key of the server certificate

    __test__ = False  # not a pytest test class despite the name

    @classmethod
    def create(cls, directory: Path) -> TestCA:
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localazure 127.0.0.1")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.IPAddress(ipaddress.ip_address("::1")),
                        x509.DNSName("localhost"),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM)
        server_cert = directory / "server.pem"
        server_key = directory / "server-key.pem"
        bundle = directory / "ca.pem"
        server_cert.write_bytes(pem)
        bundle.write_bytes(pem)
        server_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        server_key.chmod(0o600)
        return cls(bundle, server_cert, server_key)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.server_cert), str(self.server_key))
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_bundle))
