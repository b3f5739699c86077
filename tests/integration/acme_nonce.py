#!/usr/bin/python3
"""acme_nonce.py - ACME nonces against mtlscad: what they cost and what survives a restart.

Usage: acme_nonce.py setup DIRECTORY_URL CHAIN_PEM STATE_JSON
       acme_nonce.py load DIRECTORY_URL CHAIN_PEM STATE_JSON COUNT
       acme_nonce.py restarted DIRECTORY_URL CHAIN_PEM STATE_JSON

setup: create an account (its key and URL go to STATE_JSON) and check which
replies carry a Replay-Nonce: every POST reply and newNonce, not the
directory nor a 405 for another method.
load: COUNT requests on one keep-alive connection, of the kinds that each
used to add a nonce row: HEAD and GET newNonce, GET of a POST-only
resource (405), POST-as-GET of the account, and POSTs with made-up
nonces.  Then a fresh nonce goes to STATE_JSON.
restarted (after the daemon restarted): that nonce gets badNonce with a
fresh Replay-Nonce, and a retry with it succeeds.

Prints "ok DESCRIPTION" per check; on the first failure "not ok ..." and
exits 1.  Run by tests/acme_nonce.sh.  Shares the JWS client of
acme_negative.py.
"""

import json
import os
import sys

from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_negative import (Client, b64u, check, expect_problem, fail, jwk_of,  # noqa: E402
                           new_account, ok)


def client_from(directory, chain, state):
    cl = Client(directory, chain)
    cl.key = serialization.load_pem_private_key(state["key"].encode(), None)
    cl.jwk = jwk_of(cl.key)
    cl.kid = state["kid"]
    return cl


def no_nonce(r, what, status):
    check(r.status_code == status and "Replay-Nonce" not in r.headers,
          "%s: %d without a Replay-Nonce (got %d, %s)"
          % (what, status, r.status_code, r.headers.get("Replay-Nonce")), r)


def setup(directory, chain, path):
    cl = Client(directory, chain)
    r = cl.s.get(directory, timeout=10)
    no_nonce(r, "GET directory", 200)
    r = cl.s.get(cl.dir["newOrder"], timeout=10)
    no_nonce(r, "GET newOrder (POST only)", 405)
    new_account(cl, "newAccount")
    r = cl.post_raw(cl.kid, "{}", "POST of a malformed JWS")
    expect_problem(r, 400, "malformed", "a POST of a malformed JWS (it carries a nonce too)")
    pem = cl.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()
    with open(path, "w") as f:
        json.dump({"key": pem, "kid": cl.kid}, f)


def load(directory, chain, path, count):
    with open(path) as f:
        state = json.load(f)
    cl = client_from(directory, chain, state)
    kinds = {"HEAD newNonce": 0, "GET newNonce": 0, "405": 0, "POST-as-GET": 0, "badNonce": 0}
    for i in range(count):
        k = i % 5
        if k == 0:
            cl.new_nonce()
            kinds["HEAD newNonce"] += 1
        elif k == 1:
            r = cl.common(cl.s.get(cl.dir["newNonce"], timeout=10), "GET newNonce")
            if r.status_code != 204:
                fail("GET newNonce %d: 204" % i, r)
            kinds["GET newNonce"] += 1
        elif k == 2:
            r = cl.s.get(cl.kid, timeout=10)
            if r.status_code != 405 or "Replay-Nonce" in r.headers:
                fail("GET of the account %d: 405 without a nonce" % i, r)
            kinds["405"] += 1
        elif k == 3:
            r = cl.post(cl.kid, None, "POST-as-GET the account")
            if r.status_code != 200:
                fail("POST-as-GET the account %d: 200" % i, r)
            kinds["POST-as-GET"] += 1
        else:
            r = cl.post(cl.kid, None, "made-up nonce", nonce=b64u(os.urandom(32)))
            if r.status_code != 400 or r.json().get("type") != \
                    "urn:ietf:params:acme:error:badNonce":
                fail("POST with a made-up nonce %d: 400 badNonce" % i, r)
            kinds["badNonce"] += 1
    ok("%d requests on one connection: %s" % (count, ", ".join(
        "%d %s" % (n, k) for k, n in kinds.items())))
    state["nonce"] = cl.new_nonce()
    with open(path, "w") as f:
        json.dump(state, f)


def restarted(directory, chain, path):
    with open(path) as f:
        state = json.load(f)
    cl = client_from(directory, chain, state)
    old = state["nonce"]
    r = cl.post(cl.kid, None, "the nonce from before the restart", nonce=old)
    expect_problem(r, 400, "badNonce", "a nonce issued before the restart")
    check(r.headers.get("Replay-Nonce") not in (None, "", old),
          "the badNonce reply carries a fresh Replay-Nonce", r)
    r = cl.post(cl.kid, None, "retry")
    check(r.status_code == 200 and r.json().get("status") == "valid",
          "the retry with the badNonce reply's nonce succeeds (the account survived)", r)
    r = cl.post(cl.kid, None, "the retry's nonce again", nonce=cl.last_sent_nonce)
    expect_problem(r, 400, "badNonce", "the retry's nonce, used again")


def main():
    if len(sys.argv) < 5:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    mode, directory, chain, path = sys.argv[1:5]
    if mode == "setup":
        setup(directory, chain, path)
    elif mode == "load":
        load(directory, chain, path, int(sys.argv[5]))
    elif mode == "restarted":
        restarted(directory, chain, path)
    else:
        fail("unknown mode " + mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
