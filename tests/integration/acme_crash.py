#!/usr/bin/python3
"""acme_crash.py - one ACME order across a crash of mtlscad (run by tests/acme_crash.sh).

Usage:
  acme_crash.py STATE prepare DIRECTORY_URL CHAIN_PEM HTTP01_PORT NAME
      a new account and order for NAME, validated by http-01 (a responder on
      127.0.0.1:HTTP01_PORT) until the order is ready; STATE (JSON) keeps the
      account key, its URL and the order for the later steps
  acme_crash.py STATE finalize
      finalize the order with a fresh key's CSR; the daemon is set to die in
      the middle (MTLSCAD_TEST_CRASH_AT), so the connection must drop
  acme_crash.py STATE resume valid|ready
      after the restart: the order must be in the given state.  valid: its
      certificate downloads; ready: finalizing again gives valid and the
      certificate.  Either way the certificate names exactly NAME and
      carries the key of the CSR sent before the crash (valid) or after it.
Prints "ok DESCRIPTION" per check; on the first failure "not ok DESCRIPTION"
and exit 1.  The raw-ACME client is acme_negative.py's.
"""

import json
import os
import sys

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acme_negative as neg  # noqa: E402
from acme_negative import check, fail, ok  # noqa: E402


def pem_of(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def key_of(pem):
    return serialization.load_pem_private_key(pem.encode(), None)


def client(state):
    """A client with the saved account key and URL."""
    cl = neg.Client(state["directory"], state["chain"])
    cl.key = key_of(state["account_key"])
    cl.jwk = neg.jwk_of(cl.key)
    cl.kid = state["kid"]
    return cl


def pub_der(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def prepare(path, directory, chain, port, name):
    cl = neg.Client(directory, chain)
    neg.new_account(cl, "newAccount")
    order_url, order = neg.new_order(cl, name, "newOrder " + name)
    srv = neg.ChallengeServer(int(port))
    try:
        neg.validate_http01(cl, srv, order_url, order, name, name)
    finally:
        srv.close()
    state = {"directory": directory, "chain": chain, "name": name, "kid": cl.kid,
             "account_key": pem_of(cl.key), "order": order_url,
             "finalize": order["finalize"]}
    with open(path, "w") as f:
        json.dump(state, f)
    return 0


def finalize(path):
    with open(path) as f:
        state = json.load(f)
    cl = client(state)
    key = ec.generate_private_key(ec.SECP256R1())
    state["cert_key"] = pem_of(key)
    with open(path, "w") as f:
        json.dump(state, f)
    try:
        r = cl.post(state["finalize"], {"csr": neg.make_csr([state["name"]], key)},
                    "finalize")
    except requests.exceptions.RequestException as e:
        ok("finalize: the connection drops as mtlscad dies (%s)" % type(e).__name__)
        return 0
    fail("finalize: the connection drops as mtlscad dies (got a reply)", r)
    return 1


def certificate_of(cl, url, what, key, name):
    r = cl.post(url, None, what + ": download the certificate")
    check(r.status_code == 200 and "BEGIN CERTIFICATE" in r.text,
          "%s: the certificate downloads" % what, r)
    cert = x509.load_pem_x509_certificate(r.text.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    check(san.get_values_for_type(x509.DNSName) == [name],
          "%s: the certificate names exactly %s" % (what, name))
    check(cert.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo) == pub_der(key),
          "%s: the certificate carries the CSR's key" % what)
    print("serial %x" % cert.serial_number)


def resume(path, expect):
    with open(path) as f:
        state = json.load(f)
    cl = client(state)
    name = state["name"]
    r = cl.post(state["order"], None, "POST-as-GET the order after the restart")
    got = r.json().get("status") if r.status_code == 200 else None
    check(got == expect, "after the restart the order is %s (got %d %s)"
          % (expect, r.status_code, got), r)
    if expect == "valid":
        check(r.json().get("certificate"), "the valid order links its certificate", r)
        certificate_of(cl, r.json()["certificate"], "the valid order", key_of(state["cert_key"]),
                       name)
        return 0
    key = ec.generate_private_key(ec.SECP256R1())
    state["cert_key"] = pem_of(key)  # for a later "resume valid" (acme_multi_pg.sh)
    with open(path, "w") as f:
        json.dump(state, f)
    r = cl.post(state["finalize"], {"csr": neg.make_csr([name], key)}, "finalize again")
    check(r.status_code == 200 and r.json().get("status") == "valid" and
          r.json().get("certificate"), "finalize again: 200, valid", r)
    certificate_of(cl, r.json()["certificate"], "finalized again", key, name)
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 6 and a[1] == "prepare":
        return prepare(a[0], *a[2:])
    if len(a) == 2 and a[1] == "finalize":
        return finalize(a[0])
    if len(a) == 3 and a[1] == "resume" and a[2] in ("valid", "ready"):
        return resume(a[0], a[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
