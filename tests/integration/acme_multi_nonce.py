#!/usr/bin/python3
"""acme_multi_nonce.py - ACME nonces shared by two instances (acme_multi_pg.sh).

Usage: acme_multi_nonce.py DIRECTORY_A DIRECTORY_B CHAIN_PEM

A nonce instance A handed out is good at instance B; once spent there it is
refused at A (badNonce, "already used"), and at B again; B's own nonces are
good at A.  Prints "ok ..." per check, "not ok ..." and exit 1 on the first
failure.  The raw-ACME client is acme_negative.py's.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acme_negative as neg  # noqa: E402
from acme_negative import check  # noqa: E402


def main():
    dir_a, dir_b, chain = sys.argv[1:4]
    a = neg.Client(dir_a, chain)
    neg.new_account(a, "newAccount through A")
    b = neg.Client(dir_b, chain)
    b.key, b.jwk, b.kid = a.key, a.jwk, a.kid.replace(dir_a.rsplit("/", 1)[0],
                                                      dir_b.rsplit("/", 1)[0])
    acct_a, acct_b = a.kid, b.kid

    n = a.new_nonce()
    r = b.post_raw(acct_b, b.sign(acct_b, None, nonce=n), "A's nonce at B")
    check(r.status_code == 200, "a nonce from A is good at B (got %d)" % r.status_code, r)
    r = a.post_raw(acct_a, a.sign(acct_a, None, nonce=n), "the same nonce again at A")
    neg.expect_problem(r, 400, "badNonce", "spent at B, refused at A")
    check("already used" in r.json().get("detail", ""), "... as already used", r)
    r = b.post_raw(acct_b, b.sign(acct_b, None, nonce=n), "the same nonce again at B")
    neg.expect_problem(r, 400, "badNonce", "and refused at B too")

    n = b.new_nonce()
    r = a.post_raw(acct_a, a.sign(acct_a, None, nonce=n), "B's nonce at A")
    check(r.status_code == 200, "a nonce from B is good at A (got %d)" % r.status_code, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
