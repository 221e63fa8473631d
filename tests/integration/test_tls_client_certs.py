#!/usr/bin/python3
"""TLS with client certificates, TLS alone, and TLS's start-up errors.

With --tls-ca-cert-file a client must present a certificate that CA signed
(--tls-auth-clients yes, the default then): redis-cli with --cert/--key is
served, without one or with a stranger's it is not, and each refusal is a
failed handshake in INFO; HTTPS (--http-tls yes) asks for the same.
`optional` serves a client without a certificate but not one with a
stranger's; `no` asks for none. `--port off` serves TLS alone. A missing
key file, a key that does not match the certificate, or a file that is not
what its flag says stops orderd at start-up (status 1) with a message
naming the file and OpenSSL's reason."""
import os
import subprocess

from harness import READ_TIMEOUT, Orderd, check, expect
from tlslib import test_certs


def cli(certs, port, *args, cert=None, key=None):
    cmd = ["redis-cli", "--tls", "--cacert", certs.ca, "-p", str(port)]
    if cert:
        cmd += ["--cert", cert, "--key", key]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=READ_TIMEOUT)
    return r.stdout.strip() + r.stderr.strip()


def curl(certs, *args):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", certs.ca] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout


def failures(srv):
    return int(srv.info()["tls_handshake_failures"])


def start_fails(*flags):
    """orderd's status and stderr when it cannot start."""
    r = subprocess.run([os.environ["ORDERD"], "--store", "memory", "--http-port", "off",
                        "--port", "0"] + list(flags),
                       capture_output=True, text=True, timeout=READ_TIMEOUT)
    return r.returncode, r.stderr.strip()


with test_certs() as certs:
    client = dict(cert=certs.client_cert, key=certs.client_key)
    stranger = dict(cert=certs.stranger_cert, key=certs.stranger_key)

    with Orderd("--store", "memory", "--tls-port", "0", "--tls-ca-cert-file", certs.ca,
                "--http-tls", "yes", *certs.server_flags()) as srv:
        tp = srv.tls_port()
        expect("a client certificate the CA signed", cli(certs, tp, "PING", **client), "PONG")
        before = failures(srv)
        check("no client certificate: not served",
              "PONG" not in cli(certs, tp, "PING"))
        check("a stranger's certificate: not served",
              "PONG" not in cli(certs, tp, "PING", **stranger))
        expect("both refusals are failed handshakes", failures(srv), before + 2)
        log = srv.log()
        check("the log says why", "peer did not return a certificate" in log, log)
        # HTTPS asks for the same.
        url = "https://127.0.0.1:%d/healthz" % srv.http_port()
        expect("HTTPS with the CA's client certificate",
               curl(certs, "--cert", certs.client_cert, "--key", certs.client_key, url),
               (0, "ok\n"))
        check("HTTPS without one fails", curl(certs, url)[0] != 0)

    with Orderd("--store", "memory", "--tls-port", "0", "--tls-ca-cert-file", certs.ca,
                "--tls-auth-clients", "optional", *certs.server_flags()) as srv:
        tp = srv.tls_port()
        expect("optional: no certificate is fine", cli(certs, tp, "PING"), "PONG")
        expect("optional: the CA's client", cli(certs, tp, "PING", **client), "PONG")
        check("optional: a stranger's is checked, and refused",
              "PONG" not in cli(certs, tp, "PING", **stranger))

    with Orderd("--store", "memory", "--tls-port", "0", "--tls-ca-cert-file", certs.ca,
                "--tls-auth-clients", "no", *certs.server_flags()) as srv:
        expect("no: none asked for", cli(certs, srv.tls_port(), "PING"), "PONG")

    # TLS alone: no plain port at all.
    with Orderd("--store", "memory", "--port", "off", "--tls-port", "0",
                *certs.server_flags()) as srv:
        tp = srv.tls_port()
        expect("--port off: TLS serves", cli(certs, tp, "PING"), "PONG")
        check("--port off: no plain listener", "event=listening" not in srv.log(), srv.log())

    # Start-up errors: the file, and why.
    missing = os.path.join(certs.dir, "missing.key")
    expect("a missing key file",
           start_fails("--tls-port", "0", "--tls-cert-file", certs.server_cert,
                       "--tls-key-file", missing),
           (1, "orderd: cannot load --tls-key-file %s: No such file or directory" % missing))
    expect("a key that is not the certificate's",
           start_fails("--tls-port", "0", "--tls-cert-file", certs.server_cert,
                       "--tls-key-file", certs.client_key),
           (1, "orderd: --tls-key-file %s does not match --tls-cert-file %s: key values "
               "mismatch" % (certs.client_key, certs.server_cert)))
    status, err = start_fails("--tls-port", "0", "--tls-cert-file", certs.server_key,
                              "--tls-key-file", certs.server_key)
    expect("a key given as the certificate: status", status, 1)
    check("... names the file and the reason",
          err.startswith("orderd: cannot load --tls-cert-file %s: no start line"
                         % certs.server_key), err)
    status, err = start_fails("--tls-port", "0", "--tls-ca-cert-file", certs.server_key,
                              *certs.server_flags())
    expect("a CA file without a certificate",
           (status, err), (1, "orderd: cannot load --tls-ca-cert-file %s: no certificate or "
                              "crl found" % certs.server_key))
    expect("HTTPS with a missing key file too",
           start_fails("--http-port", "0", "--http-tls", "yes",
                       "--tls-cert-file", certs.server_cert, "--tls-key-file", missing)[0], 1)
