#!/usr/bin/env python3
"""multi_load.py - issuance load over several mtlscad instances (multi_pg.sh).

load:  CLIENTS threads per base URL, for SECONDS: each POSTs /v1/sign with
       TOKEN and the CSR of BODY, then /v1/renew over mTLS with the
       certificate it got (KEY is the CSR's key).  Every reply is one line
       of OUT: "STATUS SERIAL URL T" (SERIAL "-" unless 201; T seconds since
       the start), so the caller can check that every certificate a client
       received is recorded once.
race:  N requests at once (a barrier), spread round-robin over the URLs,
       all with the one TOKEN: one line per reply as above.

usage: multi_load.py load OUT SECONDS CLIENTS CACERT TOKEN BODY KEY URL...
       multi_load.py race OUT N CACERT TOKEN BODY URL...
"""
import os
import sys
import tempfile
import threading
import time

import requests
import urllib3

urllib3.disable_warnings()


def session(cacert, cert=None):
    """A session that verifies the server with CACERT only (not $REQUESTS_CA_BUNDLE)."""
    s = requests.Session()
    s.trust_env = False
    s.verify = cacert
    s.cert = cert
    return s
lock = threading.Lock()
START = time.monotonic()


def record(out, status, serial, url):
    with lock:
        out.write("%s %s %s %.2f\n" % (status, serial or "-", url, time.monotonic() - START))
        out.flush()


def post(s, url, **kw):
    try:
        r = s.post(url, timeout=30, **kw)
        return r.status_code, (r.json() if r.headers.get("content-type", "").startswith(
            "application/json") else {})
    except (requests.RequestException, ValueError):
        return 0, {}


def client(out, deadline, cacert, token, body, key, url, tmp):
    s = session(cacert)
    crt = os.path.join(tmp, "c%d.crt" % threading.get_ident())
    while time.monotonic() < deadline:
        code, j = post(s, url + "/v1/sign", data=body,
                       headers={"Authorization": "Bearer " + token,
                                "Content-Type": "application/json"})
        record(out, code, j.get("serial") if code == 201 else None, url)
        if code != 201:
            time.sleep(0.05)
            continue
        with open(crt, "w") as f:
            f.write(j["certificate"])
        r = session(cacert, (crt, key))
        code, j = post(r, url + "/v1/renew", data="{}",
                       headers={"Content-Type": "application/json"})
        record(out, code, j.get("serial") if code == 201 else None, url)
        r.close()


def main():
    mode = sys.argv[1]
    out = open(sys.argv[2], "w")
    if mode == "load":
        seconds, clients = float(sys.argv[3]), int(sys.argv[4])
        cacert, token, body, key = sys.argv[5:9]
        urls = sys.argv[9:]
        body = open(body).read()
        deadline = time.monotonic() + seconds
        tmp = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(sys.argv[2])))
        ts = [threading.Thread(target=client, args=(out, deadline, cacert, token, body, key, u,
                                                    tmp))
              for u in urls for _ in range(clients)]
    else:
        n = int(sys.argv[3])
        cacert, token, body = sys.argv[4:7]
        urls = sys.argv[7:]
        body = open(body).read()
        barrier = threading.Barrier(n)

        def one(url):
            s = session(cacert)
            barrier.wait()
            code, j = post(s, url + "/v1/sign", data=body,
                           headers={"Authorization": "Bearer " + token,
                                    "Content-Type": "application/json"})
            record(out, code, j.get("serial") if code == 201 else None, url)

        ts = [threading.Thread(target=one, args=(urls[i % len(urls)],)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.close()


if __name__ == "__main__":
    main()
