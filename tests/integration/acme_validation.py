#!/usr/bin/python3
"""acme_validation.py - how mtlscad runs ACME validations: what the client may
learn from a failed http-01, where http-01 may connect and redirect, a hard
deadline per validation, fairness between accounts and the caps on pending
validations.

Usage: acme_validation.py PHASE DIRECTORY_URL CHAIN_PEM HTTP01_PORT

PHASE "deny": the daemon runs with the default acme.http01_deny; acme.hosts
maps deny.example.net to 127.0.0.1, where a correct responder listens.
PHASE "limits": the daemon runs with "http01_deny": [], "validation_workers":
2, "validation_timeout": "4s", "pending_validations_per_account": 3,
"pending_validations": 4, and
acme.dns_resolver points at a tests/integration/fakedns whose records file says
"_acme-challenge.slowN.example.net DROP" (it never answers those).
acme.hosts maps fast, redir-other, redir-same and redir-query .example.net to
127.0.0.1.

Prints "ok DESCRIPTION" per check; on the first failure "not ok ..." and
exits 1.  Run by tests/acme_validation.sh.
"""

import http.server
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acme_negative as an  # noqa: E402  (Client, JWS, checks)
from acme_negative import check, fail, ok  # noqa: E402

ERR = an.ERR
CHAL = "/.well-known/acme-challenge/"
# Generous bounds for loops that poll a state; never a timing assertion.
POLL_SECONDS = 60


class Responder:
    """http-01 responder on 127.0.0.1:PORT.

    routes: path -> list of replies, consumed in order (the last one repeats);
    a reply is (status, location or None, body).  Records every path asked."""

    def __init__(self, port):
        self.routes = {}
        self.asked = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.asked.append(self.path)
                    replies = outer.routes.get(self.path)
                    if replies:
                        reply = replies.pop(0) if len(replies) > 1 else replies[0]
                    else:
                        reply = (404, None, "not found\n")
                status, location, body = reply
                data = body.encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
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


def order_for(cl, names, what):
    r = cl.post(cl.dir["newOrder"],
                {"identifiers": [{"type": "dns", "value": n} for n in names]}, what)
    check(r.status_code == 201 and r.json().get("status") == "pending",
          "%s: 201, pending (got %d)" % (what, r.status_code), r)
    return r.headers["Location"], r.json()


def challenge(cl, authz_url, typ, what):
    """(the authorization's identifier, the pending challenge of type `typ`)."""
    r = cl.post(authz_url, None, what + ": POST-as-GET the authorization")
    if r.status_code != 200:
        fail(what + ": POST-as-GET the authorization: 200", r)
    ch = [c for c in r.json().get("challenges", []) if c.get("type") == typ]
    check(len(ch) == 1 and ch[0].get("status") == "pending",
          "%s: the authorization offers a pending %s challenge" % (what, typ), r)
    return r.json()["identifier"]["value"], ch[0]


def chall_state(cl, url, what):
    r = cl.post(url, None, what)
    if r.status_code != 200:
        fail(what + ": 200", r)
    return r.json()


def poll_chall(cl, url, what):
    """Poll a challenge until it leaves pending/processing (bounded)."""
    deadline = time.time() + POLL_SECONDS
    while True:
        j = chall_state(cl, url, what)
        if j.get("status") not in ("pending", "processing") or time.time() > deadline:
            return j
        time.sleep(0.1)


def start(cl, ch, what):
    r = cl.post(ch["url"], {}, what)
    check(r.status_code == 200 and r.json().get("status") in ("processing", "valid",
                                                              "invalid"),
          "%s: 200, processing (got %d)" % (what, r.status_code), r)
    return r


def generic(detail, name):
    return detail == "http-01 validation failed for " + name


def leaks(detail, port):
    """What a detail must not show: addresses, ports, statuses, sizes, curl's words."""
    for bad in ("127.0.0.1", str(port), "HTTP status", "bytes", "onnect", "denied",
                "redirect", "404", "/.well-known"):
        if bad in detail:
            return bad
    return None


def http01_fails(cl, srv, port, name, what, token_reply=None):
    """Order `name`, answer its http-01 (token_reply(token, keyauth) -> routes),
    POST the challenge: the challenge ends invalid with the generic detail."""
    _, order = order_for(cl, [name], what + ": newOrder " + name)
    _, ch = challenge(cl, order["authorizations"][0], "http-01", what)
    keyauth = ch["token"] + "." + cl.thumb
    srv.routes.update(token_reply(ch["token"], keyauth) if token_reply else
                      {CHAL + ch["token"]: [(200, None, keyauth)]})
    start(cl, ch, what + ": POST the http-01 challenge")
    j = poll_chall(cl, ch["url"], what + ": poll the challenge")
    err = j.get("error") or {}
    detail = err.get("detail", "")
    check(j.get("status") == "invalid",
          "%s: the challenge is invalid (got %s)" % (what, j.get("status")))
    check(err.get("type") == ERR + "incorrectResponse" and generic(detail, name),
          "%s: the client sees only 'http-01 validation failed for %s' (got %s %r)"
          % (what, name, err.get("type"), detail))
    bad = leaks(detail, port)
    check(bad is None, "%s: the detail shows nothing of the fetch (found %r)" % (what, bad))
    return ch


def phase_deny(directory, chain, port):
    cl = an.Client(directory, chain)
    an.new_account(cl, "newAccount")
    srv = Responder(port)
    try:
        name = "deny.example.net"
        ch = http01_fails(cl, srv, port, name, "default http01_deny, " + name + " -> 127.0.0.1")
        check(not any(ch["token"] in p for p in srv.asked),
              "the validator never reached the responder on 127.0.0.1 (asked: %s)" % srv.asked)
    finally:
        srv.close()


def phase_limits(directory, chain, port):
    slow = an.Client(directory, chain)
    an.new_account(slow, "S: newAccount (slow dns-01)")
    fast = an.Client(directory, chain)
    an.new_account(fast, "H: newAccount (http-01)")
    srv = Responder(port)
    try:
        # -- S: three dns-01 validations against a resolver that never answers,
        #    the per-account cap of 3 pending validations.
        names = ["slow%d.example.net" % i for i in (1, 2, 3, 4)]
        _, order = order_for(slow, names, "S: newOrder of 4 names")
        chs = [challenge(slow, a, "dns-01", "S") for a in order["authorizations"]]
        started = [c for n, c in chs if n != "slow4.example.net"]
        fourth = [c for n, c in chs if n == "slow4.example.net"][0]
        for c in started:
            start(slow, c, "S: POST a dns-01 challenge")
        r = slow.post(fourth["url"], {}, "S: POST a 4th dns-01 challenge")
        an.expect_problem(r, 429, "rateLimited",
                          "S: a 4th pending validation (pending_validations_per_account 3)")
        ra = r.headers.get("Retry-After", "")
        check(ra.isdigit() and int(ra) > 0,
              "S: the rateLimited reply carries Retry-After (got %r)" % ra, r)
        j = chall_state(slow, fourth["url"], "S: the refused challenge")
        check(j.get("status") == "pending",
              "S: the refused challenge stays pending for a retry (got %s)" % j.get("status"))

        # -- H: an unrelated http-01 is validated while all of S's wait on DNS.
        _, horder = order_for(fast, ["fast.example.net"], "H: newOrder fast.example.net")
        _, hch = challenge(fast, horder["authorizations"][0], "http-01", "H")
        srv.routes[CHAL + hch["token"]] = [(200, None, hch["token"] + "." + fast.thumb)]
        start(fast, hch, "H: POST the http-01 challenge")
        deadline = time.time() + POLL_SECONDS
        while True:
            h = chall_state(fast, hch["url"], "H: poll the challenge").get("status")
            s = [chall_state(slow, c["url"], "S: poll").get("status") for c in started]
            if h != "processing" or any(x != "processing" for x in s) or \
                    time.time() > deadline:
                break
            time.sleep(0.05)
        check(h == "valid" and all(x == "processing" for x in s),
              "H's http-01 is valid while S's three dns-01 are still processing "
              "(H %s, S %s)" % (h, s))

        # -- T: the overall cap (pending_validations 4): S's 3 and T's first are pending.
        other = an.Client(directory, chain)
        an.new_account(other, "T: newAccount (overall cap)")
        _, torder = order_for(other, ["slow5.example.net", "slow6.example.net"],
                              "T: newOrder of 2 names")
        tchs = [challenge(other, a, "dns-01", "T")[1] for a in torder["authorizations"]]
        start(other, tchs[0], "T: POST a dns-01 challenge (the 4th pending in all)")
        r = other.post(tchs[1]["url"], {}, "T: POST a 2nd dns-01 challenge")
        an.expect_problem(r, 429, "rateLimited",
                          "T: a 5th pending validation in all (pending_validations 4)")
        check(r.headers.get("Retry-After", "").isdigit(),
              "T: the rateLimited reply carries Retry-After", r)
        s = [chall_state(slow, c["url"], "S: poll").get("status") for c in started]
        check(any(x == "processing" for x in s),
              "S's validations were still pending meanwhile (S %s)" % s)

        # -- the deadline: each of S's validations ends invalid.
        for c in started:
            j = poll_chall(slow, c["url"], "S: poll a dns-01 challenge")
            err = j.get("error") or {}
            check(j.get("status") == "invalid" and err.get("type") == ERR + "dns",
                  "S: a dns-01 against a silent resolver ends invalid, dns (got %s %s)"
                  % (j.get("status"), err.get("type")))
        r = slow.post(fourth["url"], {}, "S: POST the 4th challenge again")
        check(r.status_code == 200,
              "S: once the others ended, the 4th challenge is accepted (got %d)"
              % r.status_code, r)

        # -- redirects: only to the same challenge path.
        other = "/elsewhere/secret"
        srv.routes[other] = [(200, None, "internal data\n")]

        def to_other(tok, keyauth):
            return {CHAL + tok: [(302, other, "")]}

        http01_fails(fast, srv, port, "redir-other.example.net",
                     "H: a redirect to another path", to_other)
        check(other not in srv.asked,
              "H: the other path was not fetched (asked: %s)" % srv.asked)

        def to_query(tok, keyauth):
            return {CHAL + tok: [(302, CHAL + tok + "?x=1", "")],
                    CHAL + tok + "?x=1": [(200, None, keyauth)]}

        http01_fails(fast, srv, port, "redir-query.example.net",
                     "H: a redirect to the path with a query", to_query)

        _, order = order_for(fast, ["redir-same.example.net"], "H: newOrder redir-same")
        _, ch = challenge(fast, order["authorizations"][0], "http-01", "H")
        path = CHAL + ch["token"]
        srv.routes[path] = [(302, "http://redir-same.example.net:%d%s" % (port, path), ""),
                            (200, None, ch["token"] + "." + fast.thumb)]
        start(fast, ch, "H: POST the http-01 challenge of redir-same")
        j = poll_chall(fast, ch["url"], "H: poll redir-same")
        check(j.get("status") == "valid",
              "H: a redirect to the same challenge path is followed: valid (got %s %s)"
              % (j.get("status"), j.get("error")))
        check(srv.asked.count(path) == 2, "H: the challenge path was fetched twice")
    finally:
        srv.close()


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("deny", "limits"):
        print("usage: acme_validation.py deny|limits DIRECTORY CHAIN PORT", file=sys.stderr)
        return 2
    phase, directory, chain, port = sys.argv[1:]
    (phase_deny if phase == "deny" else phase_limits)(directory, chain, int(port))
    ok("phase %s done" % phase)
    return 0


if __name__ == "__main__":
    sys.exit(main())
