"""Certificates for the TLS tests, made with the openssl command line in a
temp dir that goes when the `with` block ends:

    with test_certs() as certs:
        Orderd("--tls-port", "0", "--tls-cert-file", certs.server_cert,
               "--tls-key-file", certs.server_key)

A CA signs a server certificate for 127.0.0.1 and localhost, and a client
certificate; a second CA, which orderd is never told of, signs another
client certificate (a stranger's). Keys are EC P-256: quick to make.
"""
import contextlib
import os
import shutil
import subprocess
import tempfile

from harness import TestFailure


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise TestFailure("openssl %s failed: %s" % (" ".join(args), r.stderr.strip()))


def _key(name, cwd):
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", name, cwd=cwd)


def _ca(name, cwd):
    _key(name + ".key", cwd)
    _openssl("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".crt",
             "-days", "2", "-subj", "/CN=orderd test " + name, cwd=cwd)


def _signed(name, ca, cn, cwd, ext=None):
    _key(name + ".key", cwd)
    _openssl("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn,
             cwd=cwd)
    args = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".crt", "-days", "2"]
    if ext:
        with open(os.path.join(cwd, name + ".ext"), "w") as f:
            f.write(ext + "\n")
        args += ["-extfile", name + ".ext"]
    _openssl(*args, cwd=cwd)


class Certs:
    def __init__(self, d):
        self.dir = d
        p = lambda f: os.path.join(d, f)
        self.ca = p("ca.crt")
        self.server_cert, self.server_key = p("server.crt"), p("server.key")
        self.client_cert, self.client_key = p("client.crt"), p("client.key")
        self.stranger_cert, self.stranger_key = p("stranger.crt"), p("stranger.key")

    def server_flags(self):
        return ["--tls-cert-file", self.server_cert, "--tls-key-file", self.server_key]


@contextlib.contextmanager
def test_certs():
    d = tempfile.mkdtemp(prefix="orderd-tls-")
    try:
        _ca("ca", d)
        _ca("other-ca", d)
        _signed("server", "ca", "localhost", d,
                ext="subjectAltName=IP:127.0.0.1,DNS:localhost")
        _signed("client", "ca", "a client", d)
        _signed("stranger", "other-ca", "a stranger", d)
        yield Certs(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
