"""A throwaway certificate authority for the HTTPS stand-ins.

The Azure stand-ins (token endpoint, ADLS Gen2, ADLS Gen1) must speak HTTPS:
msal and the storage SDKs refuse token credentials over plain HTTP. trustme
makes a CA and a server certificate for 127.0.0.1 and localhost; tests trust
that CA by pointing SSL_CERT_FILE and REQUESTS_CA_BUNDLE at `ca_bundle_path`
(with pytest's monkeypatch.setenv). Product code is never told about it.

One CA per process is enough, so the result is cached. Chromium (the browser tests) trusts
the server certificate alone, by its public key (`spki_pin`).
"""

from __future__ import annotations

import atexit
import base64
import functools
import hashlib
import os
import ssl
import tempfile

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization


@functools.cache
def _ca_and_cert() -> tuple[trustme.CA, trustme.LeafCert]:
    ca = trustme.CA()
    return ca, ca.issue_cert("127.0.0.1", "localhost")


@functools.cache
def server_pem_paths() -> tuple[str, str]:
    """(certificate chain PEM, private key PEM) of the same server certificate, as files, for
    servers that read them (Azurite's --cert and --key)."""
    _ca, cert = _ca_and_cert()
    paths = []
    for blob, suffix in (
        (b"".join(part.bytes() for part in cert.cert_chain_pems), "-cert.pem"),
        (cert.private_key_pem.bytes(), "-key.pem"),
    ):
        fd, path = tempfile.mkstemp(prefix="standin", suffix=suffix)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        atexit.register(_remove_quietly, path)
        paths.append(path)
    return paths[0], paths[1]


@functools.cache
def server_tls() -> tuple[ssl.SSLContext, str]:
    """Return (server SSLContext for 127.0.0.1/localhost, path of the CA bundle PEM)."""
    ca, cert = _ca_and_cert()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)

    fd, ca_path = tempfile.mkstemp(prefix="standin-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as handle:
        handle.write(ca.cert_pem.bytes())
    atexit.register(_remove_quietly, ca_path)
    return context, ca_path


def spki_pin() -> str:
    """The base64 SHA-256 of the server certificate's public key, for Chromium's
    --ignore-certificate-errors-spki-list: the test browser trusts this one certificate, nothing more."""
    _ca, cert = _ca_and_cert()
    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def server_ssl_context() -> ssl.SSLContext:
    return server_tls()[0]


def ca_bundle_path() -> str:
    return server_tls()[1]


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
