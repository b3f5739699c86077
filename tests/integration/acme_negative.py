#!/usr/bin/python3
"""acme_negative.py - raw ACME (RFC 8555) against mtlscad: what must be refused.

Usage: acme_negative.py DIRECTORY_URL CHAIN_PEM HTTP01_PORT CONF WRONG_NAME CSR_NAME

Talks JWS by hand (requests + cryptography, EC P-256 account key, ES256) to
check JWS and nonce handling, a failed http-01 validation (a tiny HTTP server
on HTTP01_PORT serves a wrong key authorization for WRONG_NAME) and finalize
with a CSR whose names differ from the order (CSR_NAME validated correctly).
Then validations per account (RFC 8555 7.1.4, 7.6) with two more accounts, on
a third name that CONF's acme.hosts maps (one acme.sh gave to certbot or lego:
its validations rows are checked before this runs, and other accounts'
validations of it must not count here).
RSA account keys: 8192 bits are refused (badPublicKey), 4096 accepted; then
new accounts from one address beyond CONF's acme.new_accounts_per_hour are
rateLimited (counted from the accounts in CONF's database).
Needs MTLSCA in the environment to look at the recorded certificates.

Prints "ok DESCRIPTION" per check and "# ..." diagnostics; on the first
failure prints "not ok DESCRIPTION" and exits 1.  Run by tests/acme.sh.
"""

import base64
import hashlib
import http.server
import json
import math
import os
import secrets
import sqlite3
import subprocess
import sys
import threading
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ERR = "urn:ietf:params:acme:error:"
POLL_SECONDS = 20
# RFC 8555 6.2: what a badSignatureAlgorithm problem must offer, and in mtlscad's order.
ALGORITHMS = ["ES256", "ES384", "RS256", "EdDSA"]


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key):
    pub = key.public_key().public_numbers()
    return {"crv": "P-256", "kty": "EC", "x": b64u(pub.x.to_bytes(32, "big")),
            "y": b64u(pub.y.to_bytes(32, "big"))}


def es256(key, text):
    """The base64url ES256 signature (r || s) of `text` by the P-256 `key`."""
    r, s = decode_dss_signature(key.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
    return b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


SMALL_PRIMES = [p for p in range(3, 1000, 2) if all(p % q for q in range(3, int(p ** 0.5) + 1, 2))]
# RFC 8017 9.2: the DER DigestInfo prefix of a SHA-256 hash.
SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def probable_prime(n, rounds=24):
    """Miller-Rabin; n odd and large."""
    if any(n % p == 0 for p in SMALL_PRIMES):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


class MultiPrimeRSA:
    """An RSA key of exactly `bits` bits (a multiple of 256) from 256-bit primes, e = 65537.

    A real key (RS256 signatures made with it verify), made in well under a
    second where a two-prime RSA-8192 key takes seconds to generate.  Each
    prime has its top 8 bits set, so the product of bits/256 of them has
    exactly `bits` bits.
    """

    def __init__(self, bits):
        self.e = 65537
        self.primes = []
        while len(self.primes) < bits // 256:
            p = secrets.randbits(256) | (0xff << 248) | 1
            if (p - 1) % self.e != 0 and probable_prime(p):
                self.primes.append(p)
        self.n = math.prod(self.primes)
        assert self.n.bit_length() == bits
        self.k = bits // 8

    def jwk(self):
        return {"e": b64u(self.e.to_bytes(3, "big")), "kty": "RSA",
                "n": b64u(self.n.to_bytes(self.k, "big"))}

    def rs256(self, text):
        """The base64url RSASSA-PKCS1-v1_5 SHA-256 signature of `text` (CRT, Garner)."""
        t = SHA256_INFO + hashlib.sha256(text.encode()).digest()
        m = int.from_bytes(b"\x00\x01" + b"\xff" * (self.k - 3 - len(t)) + b"\x00" + t, "big")
        x, mod = 0, 1
        for p in self.primes:
            r = pow(m, pow(self.e, -1, p - 1), p)
            x += mod * ((r - x) * pow(mod, -1, p) % p)
            mod *= p
        assert pow(x, self.e, self.n) == m
        return b64u(x.to_bytes(self.k, "big"))


def rsa_new_account(cl, key, what):
    """newAccount signed RS256 with the MultiPrimeRSA `key` (its jwk in the header)."""
    if cl.nonce is None:
        cl.new_nonce()
    url = cl.dir["newAccount"]
    p64 = b64u(json.dumps({"alg": "RS256", "nonce": cl.nonce, "url": url, "jwk": key.jwk()}))
    pl64 = b64u(json.dumps({"termsOfServiceAgreed": True}))
    body = {"protected": p64, "payload": pl64, "signature": key.rs256(p64 + "." + pl64)}
    return cl.post_raw(url, body, what)


def database_of(conf):
    with open(conf) as f:
        db = json.load(f).get("database", "mtlsca.db")
    return db if os.path.isabs(db) else os.path.join(os.path.dirname(os.path.abspath(conf)), db)


def account_count(conf):
    con = sqlite3.connect("file:%s?mode=ro" % database_of(conf), uri=True, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM acme_accounts").fetchone()[0]
    finally:
        con.close()


def ok(desc):
    print("ok " + desc, flush=True)


def fail(desc, resp=None):
    if resp is not None:
        print("# status %d, headers %s" % (resp.status_code, dict(resp.headers)))
        print("# body: %s" % resp.text[:2000])
    print("not ok " + desc, flush=True)
    sys.exit(1)


def check(cond, desc, resp=None):
    if not cond:
        fail(desc, resp)
    ok(desc)


class Client:
    """An ACME client that checks the headers every reply must carry.

    Replies to POST and to newNonce carry a fresh Replay-Nonce; the
    directory (a GET) needs none and gets none.
    """

    def __init__(self, directory_url, chain):
        self.s = requests.Session()
        # Not the environment's REQUESTS_CA_BUNDLE/proxies: they would override verify.
        self.s.trust_env = False
        self.s.verify = chain
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = jwk_of(self.key)
        canon = json.dumps(self.jwk, sort_keys=True, separators=(",", ":"))
        self.thumb = b64u(hashlib.sha256(canon.encode()).digest())
        self.kid = None
        self.nonce = None
        self.last_sent_nonce = None
        self.replies = 0
        r = self.s.get(directory_url, timeout=10)
        self.common(r, "GET directory", nonce=False)
        if r.status_code != 200:
            fail("GET directory: 200", r)
        self.dir = r.json()

    def common(self, r, what, nonce=True):
        """Every reply: a fresh Replay-Nonce (none if not `nonce`); errors are problem documents."""
        self.replies += 1
        n = r.headers.get("Replay-Nonce")
        if not nonce:
            if n is not None:
                fail("%s: the reply carries no Replay-Nonce (got %r)" % (what, n), r)
        elif not n:
            fail("%s: the reply carries Replay-Nonce" % what, r)
        elif n == self.nonce:
            fail("%s: the Replay-Nonce is fresh" % what, r)
        else:
            self.nonce = n
        if r.status_code >= 400:
            ct = r.headers.get("Content-Type", "")
            if ct.split(";")[0].strip().lower() != "application/problem+json":
                fail("%s: error Content-Type is application/problem+json, got %r" % (what, ct), r)
            try:
                doc = r.json()
            except ValueError:
                fail("%s: the problem document is JSON" % what, r)
            if not isinstance(doc.get("type"), str) or not doc["type"].startswith(ERR):
                fail("%s: the problem type is urn:ietf:params:acme:error:*" % what, r)
        return r

    def new_nonce(self):
        r = self.s.head(self.dir["newNonce"], timeout=10)
        self.common(r, "HEAD newNonce")
        if r.status_code != 200:
            fail("HEAD newNonce: 200", r)
        return self.nonce

    def sign(self, url, payload, nonce=None, use_jwk=False, alg="ES256", header_url=None,
             key=None):
        """Flattened JWS; `key`: sign with this P-256 key (and its jwk) instead."""
        prot = {"alg": alg, "nonce": nonce if nonce is not None else self.nonce,
                "url": header_url or url}
        self.last_sent_nonce = prot["nonce"]
        if key is not None:
            prot["jwk"] = jwk_of(key)
        elif use_jwk or self.kid is None:
            prot["jwk"] = self.jwk
        else:
            prot["kid"] = self.kid
        key = key or self.key
        p64 = b64u(json.dumps(prot))
        pl64 = "" if payload is None else b64u(json.dumps(payload))
        sig = "" if alg == "none" else es256(key, p64 + "." + pl64)
        return {"protected": p64, "payload": pl64, "signature": sig}

    def post_raw(self, url, body, what, ctype="application/jose+json"):
        if self.nonce is None:
            self.new_nonce()
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        r = self.s.post(url, data=data, headers={"Content-Type": ctype}, timeout=15)
        return self.common(r, what)

    def post(self, url, payload, what, **kw):
        if self.nonce is None:
            self.new_nonce()
        return self.post_raw(url, self.sign(url, payload, **kw), what)


def problem_type(r):
    try:
        return r.json().get("type")
    except ValueError:
        return None


def expect_problem(r, status, typ, desc):
    t = problem_type(r)
    check(r.status_code == status and t == ERR + typ,
          "%s: %d %s (got %d %s)" % (desc, status, typ, r.status_code, t), r)


class ChallengeServer:
    """http-01 responder on 127.0.0.1:PORT: token -> body; records what was asked."""

    def __init__(self, port):
        self.bodies = {}
        self.asked = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.asked.append(self.path)
                prefix = "/.well-known/acme-challenge/"
                tok = self.path[len(prefix):] if self.path.startswith(prefix) else None
                body = outer.bodies.get(tok)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def make_csr(names, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                          critical=False)
           .sign(key, hashes.SHA256()))
    return b64u(csr.public_bytes(serialization.Encoding.DER))


def recorded(conf):
    """The domain-validated certificates the CA recorded (list --json)."""
    out = subprocess.run([os.environ["MTLSCA"], "-c", conf, "list", "--profile",
                          "domain-validated", "--json"], capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        print("# " + out.stderr)
        fail("mtlsca list --profile domain-validated --json exits 0")
    return json.loads(out.stdout)


def recorded_names(conf):
    """All DNS names of the domain-validated certificates the CA recorded."""
    names = set()
    for c in recorded(conf):
        for n in c.get("names", []):
            names.add(n if isinstance(n, str) else json.dumps(n))
    return names


def spare_name(conf, used):
    """A name CONF's acme.hosts maps for http-01 that is not in `used`."""
    with open(conf) as f:
        hosts = json.load(f).get("acme", {}).get("hosts", {})
    names = sorted(n for n in hosts if n not in used and not n.startswith("*."))
    if not names:
        fail("CONF's acme.hosts maps a name besides %s (got %s)" % (", ".join(used),
                                                                  sorted(hosts)))
    return names[0]


def status_of(conf, serial):
    """The recorded status of the certificate with hex `serial` (None: not recorded)."""
    rec = [c for c in recorded(conf) if c.get("serial", "").lstrip("0") == serial]
    return rec[0].get("status") if len(rec) == 1 else None


def new_account(cl, what):
    r = cl.post(cl.dir["newAccount"], {"termsOfServiceAgreed": True}, what, use_jwk=True)
    check(r.status_code == 201 and r.headers.get("Location") and
          r.json().get("status") == "valid", "%s: 201, valid, with Location" % what, r)
    cl.kid = r.headers["Location"]
    return cl.kid


def validate_http01(cl, srv, order_url, order, name, what):
    """Answer the order's http-01 challenge with cl's key authorization: valid, ready."""
    authz_url, ch = http01_of(cl, order, what)
    srv.bodies[ch["token"]] = ch["token"] + "." + cl.thumb
    r = cl.post(ch["url"], {}, what + ": POST the challenge")
    check(r.status_code == 200, "%s: POST {} to the http-01 challenge: 200" % what, r)
    r = poll_authz(cl, authz_url, what)
    check(r.json().get("status") == "valid",
          "%s: the right key authorization makes the authorization of %s valid (got %s)"
          % (what, name, r.json().get("status")), r)
    r = cl.post(order_url, None, what + ": POST-as-GET the validated order")
    check(r.status_code == 200 and r.json().get("status") == "ready",
          "%s: the order is ready (got %s)" % (what, r.json().get("status")), r)


def finalize_and_fetch(cl, order, name, what):
    """Finalize a ready order with a CSR for `name`; the issued certificate."""
    r = cl.post(order["finalize"], {"csr": make_csr([name])}, what + ": finalize")
    check(r.status_code == 200 and r.json().get("status") == "valid" and
          r.json().get("certificate"), "%s: finalize: 200, valid" % what, r)
    r = cl.post(r.json()["certificate"], None, what + ": download the certificate")
    check(r.status_code == 200 and "BEGIN CERTIFICATE" in r.text,
          "%s: the certificate downloads" % what, r)
    return x509.load_pem_x509_certificate(r.text.encode())


def new_order(cl, name, what):
    r = cl.post(cl.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name}]}, what)
    check(r.status_code == 201 and r.json().get("status") == "pending" and
          r.headers.get("Location"), "%s: 201, pending, with Location" % what, r)
    return r.headers["Location"], r.json()


def http01_of(cl, order, what):
    authz_url = order["authorizations"][0]
    r = cl.post(authz_url, None, what + ": POST-as-GET the authorization")
    if r.status_code != 200:
        fail(what + ": POST-as-GET the authorization: 200", r)
    ch = [c for c in r.json().get("challenges", []) if c.get("type") == "http-01"]
    check(len(ch) == 1 and ch[0].get("status") == "pending" and ch[0].get("token"),
          "%s: the authorization offers one pending http-01 challenge" % what, r)
    return authz_url, ch[0]


def poll_authz(cl, authz_url, what):
    deadline = time.time() + POLL_SECONDS
    while True:
        r = cl.post(authz_url, None, what + ": poll the authorization")
        if r.status_code != 200:
            fail(what + ": poll the authorization: 200", r)
        st = r.json().get("status")
        if st not in ("pending", "processing") or time.time() > deadline:
            return r
        time.sleep(0.25)


def main():
    if len(sys.argv) != 7:
        print("usage: acme_negative.py DIRECTORY CHAIN PORT CONF WRONG_NAME CSR_NAME",
              file=sys.stderr)
        return 2
    directory, chain, port, conf, wrong_name, csr_name = sys.argv[1:]
    port = int(port)

    cl = Client(directory, chain)
    check(all(k in cl.dir for k in ("newNonce", "newAccount", "newOrder", "revokeCert",
                                     "keyChange")), "directory lists the five resources")
    first = cl.new_nonce()
    r = cl.s.head(cl.dir["newNonce"], timeout=10)
    cl.common(r, "HEAD newNonce")
    check(r.status_code == 200 and "no-store" in r.headers.get("Cache-Control", ""),
          "HEAD newNonce: 200, Cache-Control no-store, a fresh Replay-Nonce", r)
    check(cl.nonce != first, "successive nonces differ")

    # -- account ----------------------------------------------------------------
    r = cl.post(cl.dir["newAccount"], {"termsOfServiceAgreed": True,
                                       "contact": ["mailto:neg@example.net"]},
                "newAccount", use_jwk=True)
    check(r.status_code == 201 and r.headers.get("Location") and
          r.json().get("status") == "valid", "newAccount: 201, valid, with Location", r)
    cl.kid = r.headers["Location"]
    acct = cl.kid

    # -- RSA account keys: at most 4096 bits, refused from the JWK alone -------------
    before = account_count(conf)
    r = rsa_new_account(cl, MultiPrimeRSA(8192), "newAccount with an RSA-8192 key")
    expect_problem(r, 400, "badPublicKey", "newAccount signed with a valid RSA-8192 key")
    detail = r.json().get("detail", "")
    check("8192" in detail and "4096" in detail,
          "the RSA-8192 refusal names the size and the limit (got %r)" % detail, r)
    check(account_count(conf) == before, "no account was created for the RSA-8192 key")
    r = rsa_new_account(cl, MultiPrimeRSA(4096), "newAccount with an RSA-4096 key")
    check(r.status_code == 201 and r.json().get("status") == "valid",
          "newAccount with an RSA-4096 key (RS256): 201, valid", r)

    # -- JWS and nonce checks -----------------------------------------------------
    body = cl.sign(acct, None)
    sig = bytearray(base64.urlsafe_b64decode(body["signature"] + "=="))
    sig[10] ^= 0x01
    body["signature"] = b64u(bytes(sig))
    r = cl.post_raw(acct, body, "bad signature")
    expect_problem(r, 401, "unauthorized", "a JWS with a bad signature")

    r = cl.post(acct, None, "POST-as-GET the account")
    check(r.status_code == 200 and r.json().get("status") == "valid",
          "POST-as-GET the account with a fresh nonce: 200", r)
    # The nonce just spent on a good request, used again:
    good = cl.sign(acct, None)
    used = json.loads(base64.urlsafe_b64decode(good["protected"] + "=="))["nonce"]
    r = cl.post_raw(acct, good, "fresh nonce")
    check(r.status_code == 200, "a good request consumes its nonce", r)
    r = cl.post_raw(acct, cl.sign(acct, None, nonce=used), "reused nonce")
    expect_problem(r, 400, "badNonce", "a reused nonce")
    check(r.headers.get("Replay-Nonce") not in (None, "", used),
          "the badNonce reply carries a fresh Replay-Nonce", r)
    r = cl.post(acct, None, "retry with the badNonce reply's nonce")
    check(r.status_code == 200, "a retry with the nonce from the badNonce reply succeeds", r)
    r = cl.post(acct, None, "made-up nonce", nonce=b64u(os.urandom(16)))
    expect_problem(r, 400, "badNonce", "a nonce the server never issued")

    r = cl.post(acct, None, "url mismatch", header_url=cl.dir["newOrder"])
    expect_problem(r, 401, "unauthorized", "a JWS whose url is another resource")
    r = cl.post(acct, None, "url with another host",
                header_url=acct.replace("127.0.0.1", "localhost", 1))
    expect_problem(r, 401, "unauthorized", "a JWS whose url names another host")

    r = cl.post_raw(acct, cl.sign(acct, None), "wrong content type",
                    ctype="application/json")
    check(r.status_code == 415, "Content-Type application/json: 415 (got %d)" % r.status_code,
          r)

    for alg in ("none", "HS256"):
        r = cl.post(acct, None, "alg " + alg, alg=alg)
        expect_problem(r, 400, "badSignatureAlgorithm", 'a JWS with "alg": "%s"' % alg)
        got = r.json().get("algorithms")
        check(got == ALGORITHMS, '"alg": "%s": the problem lists "algorithms" %s (got %s)'
              % (alg, json.dumps(ALGORITHMS), json.dumps(got)), r)

    r = cl.post(cl.dir["newOrder"], {"identifiers": [{"type": "dns", "value": wrong_name}]},
                "newOrder with a jwk", use_jwk=True)
    expect_problem(r, 400, "malformed", "newOrder signed with a jwk instead of the kid")

    # key rollover (RFC 8555 7.3.5), a well-formed request: not implemented, and says so.
    new_key = ec.generate_private_key(ec.SECP256R1())
    p64 = b64u(json.dumps({"alg": "ES256", "jwk": jwk_of(new_key),
                           "url": cl.dir["keyChange"]}))
    pl64 = b64u(json.dumps({"account": acct, "oldKey": cl.jwk}))
    inner = {"protected": p64, "payload": pl64, "signature": es256(new_key, p64 + "." + pl64)}
    r = cl.post(cl.dir["keyChange"], inner, "keyChange")
    detail = r.json().get("detail", "") if r.status_code >= 400 else ""
    check(r.status_code == 501 and "not supported" in detail and
          "internal error" not in detail,
          'keyChange: 501, a problem whose detail says "not supported" (got %d %r)'
          % (r.status_code, detail), r)

    # -- a wrong http-01 response ---------------------------------------------------
    srv = ChallengeServer(port)
    try:
        order_url, order = new_order(cl, wrong_name, "newOrder " + wrong_name)
        authz_url, ch = http01_of(cl, order, wrong_name)
        tok = ch["token"]
        srv.bodies[tok] = tok + "." + b64u(hashlib.sha256(b"someone else").digest())
        r = cl.post(ch["url"], {}, "POST the challenge of " + wrong_name)
        check(r.status_code == 200 and r.json().get("status") in ("pending", "processing",
                                                                  "invalid"),
              "%s: POST {} to the http-01 challenge: 200" % wrong_name, r)
        r = poll_authz(cl, authz_url, wrong_name)
        a = r.json()
        check(a.get("status") == "invalid",
              "%s: a wrong key authorization makes the authorization invalid (got %s)"
              % (wrong_name, a.get("status")), r)
        check("/.well-known/acme-challenge/" + tok in srv.asked,
              "%s: the server fetched the challenge URL" % wrong_name)
        ch2 = [c for c in a.get("challenges", []) if c.get("type") == "http-01"][0]
        err = ch2.get("error") or {}
        check(ch2.get("status") == "invalid" and err.get("type") == ERR + "incorrectResponse"
              and err.get("detail"),
              "%s: the challenge is invalid with error incorrectResponse (got %s)"
              % (wrong_name, err.get("type")), r)
        r = cl.post(order_url, None, "POST-as-GET the failed order")
        check(r.status_code == 200 and r.json().get("status") == "invalid",
              "%s: the order becomes invalid (got %s)" % (wrong_name, r.json().get("status")),
              r)
        r = cl.post(order["finalize"], {"csr": make_csr([wrong_name])},
                    "finalize the invalid order")
        expect_problem(r, 403, "orderNotReady", "finalize of the invalid order")
        check(wrong_name not in recorded_names(conf),
              "no certificate recorded for " + wrong_name)

        # -- finalize with a CSR for other names ----------------------------------------
        order_url, order = new_order(cl, csr_name, "newOrder " + csr_name)
        r = cl.post(order["finalize"], {"csr": make_csr([csr_name])},
                    "finalize the pending order")
        expect_problem(r, 403, "orderNotReady", "finalize before validation")
        authz_url, ch = http01_of(cl, order, csr_name)
        tok = ch["token"]
        srv.bodies[tok] = tok + "." + cl.thumb
        r = cl.post(ch["url"], {}, "POST the challenge of " + csr_name)
        check(r.status_code == 200, "%s: POST {} to the http-01 challenge: 200" % csr_name, r)
        r = poll_authz(cl, authz_url, csr_name)
        check(r.json().get("status") == "valid",
              "%s: the right key authorization makes the authorization valid (got %s)"
              % (csr_name, r.json().get("status")), r)
        r = cl.post(order_url, None, "POST-as-GET the validated order")
        check(r.status_code == 200 and r.json().get("status") == "ready",
              "%s: the order is ready" % csr_name, r)
        other = "other-" + csr_name
        r = cl.post(order["finalize"], {"csr": make_csr([csr_name, other])},
                    "finalize with an extra name")
        expect_problem(r, 400, "badCSR", "finalize with a CSR naming one more name")
        r = cl.post(order["finalize"], {"csr": make_csr([other])},
                    "finalize with another name")
        expect_problem(r, 400, "badCSR", "finalize with a CSR for another name")
        names = recorded_names(conf)
        check(other not in names and csr_name not in names,
              "no certificate recorded after the refused CSRs")
    finally:
        srv.close()

    # The order stays ready: the right CSR is issued, through raw ACME as well.
    cert_key = ec.generate_private_key(ec.SECP256R1())
    r = cl.post(order["finalize"], {"csr": make_csr([csr_name], cert_key)},
                "finalize with the right CSR")
    check(r.status_code == 200 and r.json().get("status") == "valid" and
          r.json().get("certificate"), "finalize with the right CSR: 200, valid", r)
    r = cl.post(r.json()["certificate"], None, "download the certificate")
    check(r.status_code == 200 and r.headers.get("Content-Type", "").startswith(
        "application/pem-certificate-chain") and r.text.count("BEGIN CERTIFICATE") >= 2,
          "the certificate downloads as application/pem-certificate-chain", r)
    cert = x509.load_pem_x509_certificate(r.text.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    check(san.get_values_for_type(x509.DNSName) == [csr_name],
          "the certificate names exactly " + csr_name)
    check(csr_name in recorded_names(conf), "the certificate is recorded")

    # revokeCert signed by the certificate's own key (jwk), then once more.
    serial = "%x" % cert.serial_number
    der = b64u(cert.public_bytes(serialization.Encoding.DER))
    # caCompromise (2) and privilegeWithdrawn (9) are the CA's to say, not a holder's.
    for code in (2, 9):
        r = cl.post(cl.dir["revokeCert"], {"certificate": der, "reason": code},
                    "revokeCert by the certificate key, reason %d" % code, key=cert_key)
        expect_problem(r, 400, "badRevocationReason",
                       "revokeCert signed with the certificate's key, reason %d" % code)
        r = cl.post(cl.dir["revokeCert"], {"certificate": der, "reason": code},
                    "revokeCert by the ordering account, reason %d" % code)
        expect_problem(r, 400, "badRevocationReason",
                       "revokeCert by the ordering account, reason %d" % code)
        check(status_of(conf, serial) == "valid",
              "reason %d: the certificate is still recorded valid (got %s)"
              % (code, status_of(conf, serial)))
    r = cl.post(cl.dir["revokeCert"], {"certificate": der, "reason": 1},
                "revokeCert by the certificate key", key=cert_key)
    check(r.status_code == 200, "revokeCert signed with the certificate's key: 200", r)
    rec = [c for c in recorded(conf) if c.get("serial", "").lstrip("0") == serial]
    if not (len(rec) == 1 and rec[0].get("status") == "revoked" and
            rec[0].get("reason") == "keyCompromise"):
        print("# recorded: %s" % rec)
    check(len(rec) == 1 and rec[0].get("status") == "revoked" and
          rec[0].get("reason") == "keyCompromise",
          "the certificate is recorded revoked with reason keyCompromise")
    r = cl.post(cl.dir["revokeCert"], {"certificate": der}, "revokeCert again")
    expect_problem(r, 400, "alreadyRevoked", "revokeCert of a revoked certificate")

    # -- validations belong to an account (RFC 8555 7.1.4, 7.6) ----------------------
    # A (cl) validates `shared`, which certbot or lego validated with its own account.
    shared = spare_name(conf, (wrong_name, csr_name))
    print("# accounts A, B, C on " + shared)
    clb = Client(directory, chain)
    clc = Client(directory, chain)
    srv = ChallengeServer(port)
    try:
        a_url, a_order = new_order(cl, shared, "A: newOrder " + shared +
                                   " (another client's account validated it)")
        validate_http01(cl, srv, a_url, a_order, shared, "A")

        new_account(clb, "B: newAccount (a second P-256 key)")
        b_url, b_order = new_order(clb, shared, "B: newOrder " + shared +
                                   " (validated by A only)")
        r = clb.post(b_order["authorizations"][0], None, "B: POST-as-GET the authorization")
        check(r.status_code == 200 and r.json().get("status") == "pending",
              "B: the authorization of %s is pending, A's validation does not count (got %s)"
              % (shared, r.json().get("status")), r)
        r = clb.post(b_order["finalize"], {"csr": make_csr([shared])},
                     "B: finalize the pending order")
        expect_problem(r, 403, "orderNotReady", "B: finalize before B validated " + shared)

        # A again: its own validation is reused, and the authorization shows it.
        r = cl.post(cl.dir["newOrder"], {"identifiers": [{"type": "dns", "value": shared}]},
                    "A: newOrder " + shared + " again")
        check(r.status_code == 201 and r.json().get("status") == "ready" and
              r.headers.get("Location"),
              "A: newOrder %s again: 201, ready at once (got %d %s)"
              % (shared, r.status_code, r.json().get("status")), r)
        a2_order = r.json()
        r = cl.post(a2_order["authorizations"][0], None, "A: POST-as-GET the reused authz")
        a = r.json() if r.status_code == 200 else {}
        chs = a.get("challenges")
        check(r.status_code == 200 and a.get("status") == "valid",
              "A: the reused authorization is valid (got %s)" % a.get("status"), r)
        check(isinstance(chs, list) and len(chs) > 0 and
              any(isinstance(c, dict) and c.get("status") == "valid" for c in chs),
              "A: the reused authorization lists a valid challenge (got %s)"
              % json.dumps(chs), r)
        a_cert = finalize_and_fetch(cl, a2_order, shared, "A, the reused order")

        # B validates too and gets a certificate that A did not order.
        validate_http01(clb, srv, b_url, b_order, shared, "B")
        b_cert = finalize_and_fetch(clb, b_order, shared, "B")
    finally:
        srv.close()

    new_account(clc, "C: newAccount (validates nothing)")
    a_serial = "%x" % a_cert.serial_number
    r = clc.post(clc.dir["revokeCert"],
                 {"certificate": b64u(a_cert.public_bytes(serialization.Encoding.DER))},
                 "C: revokeCert of A's certificate")
    expect_problem(r, 403, "unauthorized", "C (no validations): revokeCert of A's certificate")
    check(status_of(conf, a_serial) == "valid",
          "A's certificate is still recorded valid (got %s)" % status_of(conf, a_serial))
    b_serial = "%x" % b_cert.serial_number
    r = cl.post(cl.dir["revokeCert"],
                {"certificate": b64u(b_cert.public_bytes(serialization.Encoding.DER))},
                "A: revokeCert of B's certificate")
    check(r.status_code == 200,
          "A (validated %s, did not order it): revokeCert of B's certificate: 200 (got %d)"
          % (shared, r.status_code), r)
    check(status_of(conf, b_serial) == "revoked",
          "B's certificate is recorded revoked (got %s)" % status_of(conf, b_serial))

    # Per-account order limit: acme.sh configures "orders_per_hour": 20.
    cld = Client(directory, chain)
    new_account(cld, "D: newAccount (order limit)")
    for i in range(20):
        r = cld.post(cld.dir["newOrder"],
                     {"identifiers": [{"type": "dns", "value": "rate%d.example.net" % i}]},
                     "D: newOrder %d" % (i + 1))
        if r.status_code != 201:
            fail("D: newOrder %d of 20 within the limit: 201 (got %d)" % (i + 1, r.status_code),
                 r)
    ok("D: 20 new orders within an hour are accepted")
    r = cld.post(cld.dir["newOrder"],
                 {"identifiers": [{"type": "dns", "value": "rate-over.example.net"}]},
                 "D: newOrder 21")
    expect_problem(r, 429, "rateLimited", "D: the 21st new order in an hour")

    # Per-address new-account limit: every account in the database came from 127.0.0.1.
    with open(conf) as f:
        limit = json.load(f).get("acme", {}).get("new_accounts_per_hour")
    if not isinstance(limit, int):
        fail("CONF sets acme.new_accounts_per_hour")
    have = account_count(conf)
    print("# %d accounts so far, limit %d an hour" % (have, limit))
    check(have < limit, "fewer accounts so far (%d) than the limit (%d)" % (have, limit))
    cle = None
    for i in range(limit - have):
        cle = Client(directory, chain)
        new_account(cle, "E%d: newAccount within the limit" % (i + 1))
    check(account_count(conf) == limit, "%d accounts from 127.0.0.1" % limit)
    clf = Client(directory, chain)
    r = clf.post(clf.dir["newAccount"], {"termsOfServiceAgreed": True},
                 "F: newAccount over the limit", use_jwk=True)
    expect_problem(r, 429, "rateLimited", "newAccount number %d from one address in an hour"
                   % (limit + 1))
    ra = r.headers.get("Retry-After", "")
    check(ra.isdigit() and 1 <= int(ra) <= 3600,
          "the rateLimited reply has Retry-After of 1..3600 seconds (got %r)" % ra, r)
    check(account_count(conf) == limit, "no account was created over the limit")
    r = cl.post(cl.dir["newAccount"], {"onlyReturnExisting": True}, "A: newAccount, existing",
                use_jwk=True)
    check(r.status_code == 200 and r.headers.get("Location") == acct,
          "newAccount for an existing key is not limited: 200 with its Location", r)

    n = cl.replies + clb.replies + clc.replies + cld.replies
    ok("every one of %d replies carried a fresh Replay-Nonce (the directory none), every "
       "error a problem document" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
