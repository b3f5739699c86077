#!/usr/bin/env python3
"""hostile.py - hostile and crowded clients for hostile.sh (loopback only).

  hostile.py crowd PORT CAFILE CLIENTS REQUEST_TIMEOUT
      CLIENTS slow clients from distinct 127.0.x.y addresses (half finish
      the TLS handshake and trickle a request header a byte a second, half
      trickle a TLS ClientHello a byte a second) plus one slowloris from
      127.255.0.1; then a fresh GET /v1/health from 127.0.0.1 must be
      answered within 2 s; then every slow client must be cut off within
      REQUEST_TIMEOUT of its connect (plus the sweep's slack), not before.
  hostile.py keepalive PORT CAFILE CLIENTS SECONDS
      CLIENTS keep-alive clients from 127.0.0.1, each reconnecting every 50
      requests (as pooled HTTP clients do): zero connection errors.
  hostile.py malformed PORT CAFILE TOKEN CSR_PEM CSR1000_PEM
      malformed requests, each with its exact status or a closed connection.

Prints "ok ..." and "not ok ..." lines for hostile.sh; exits 1 on a
failure.  Every socket is closed before it exits.
"""
import json
import resource
import selectors
import socket
import ssl
import sys
import threading
import time

failed = False


def ok(msg):
    print("ok " + msg, flush=True)


def not_ok(msg):
    global failed
    failed = True
    print("not ok " + msg, flush=True)


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        print("# RLIMIT_NOFILE hard limit %d < %d: cannot run" % (hard, need))
        sys.exit(77)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def client_ctx(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the server certificate names the CA host
    return ctx


def read_reply(s, buf=b""):
    """One HTTP reply (Content-Length framed) from s: (status, body, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("connection closed before the reply header")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        d = s.recv(65536)
        if not d:
            raise EOFError("connection closed in the reply body")
        rest += d
    return status, rest[:length], rest[length:]


def health(port, cafile, timeout):
    """GET /v1/health on a fresh connection from 127.0.0.1: (seconds, status, body)."""
    t0 = time.monotonic()
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                   source_address=("127.0.0.1", 0))
    try:
        s = client_ctx(cafile).wrap_socket(raw)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: pki\r\nConnection: close\r\n\r\n")
        status, body, _ = read_reply(s)
        s.close()
    finally:
        raw.close()
    return time.monotonic() - t0, status, body


def slow_addr(i):
    return "127.0.%d.%d" % (i // 250, i % 250 + 2)


class Slow:
    """One slow client: a socket, what it trickles, when it connected."""

    def __init__(self, sock, data, t0):
        self.sock, self.data, self.pos, self.t0 = sock, data, 0, t0
        self.cut = None  # seconds from connect to the server's close

    def trickle(self):
        try:
            self.sock.send(self.data[self.pos % len(self.data):][:1])
            self.pos += 1
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            pass
        except OSError:
            self.closed()

    def readable(self):
        try:
            while True:
                if not self.sock.recv(4096):
                    self.closed()
                    return
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        except OSError:
            self.closed()

    def closed(self):
        if self.cut is None:
            self.cut = time.monotonic() - self.t0


def client_hello(ctx):
    """The bytes of a real TLS ClientHello, to trickle over plain TCP."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def crowd(port, cafile, n, deadline):
    raise_nofile(n + 200)
    ctx = client_ctx(cafile)
    nover = ssl.create_default_context()
    nover.check_hostname = False
    nover.verify_mode = ssl.CERT_NONE  # the slow ones: cheaper handshakes
    hello = client_hello(nover)
    header = b"X-Slow: " + b"a" * 4000 + b"\r\n"
    slow = []
    errors = []
    sel = selectors.DefaultSelector()

    def add(sock, data):
        sock.setblocking(False)
        c = Slow(sock, data, time.monotonic())
        slow.append(c)
        sel.register(sock, selectors.EVENT_READ, c)
        return c

    try:
        # The slowloris: a request line, then one header byte a second.
        raw = socket.create_connection(("127.0.0.1", port), timeout=5,
                                       source_address=("127.255.0.1", 0))
        s = nover.wrap_socket(raw)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: pki\r\n")
        loris = add(s, header)
        last = time.monotonic()
        t_open = time.monotonic()
        for i in range(n):
            try:
                raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                raw.bind((slow_addr(i), 0))
                raw.settimeout(5)
                raw.connect(("127.0.0.1", port))
                if i % 2 == 0:
                    s = nover.wrap_socket(raw)
                    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: pki\r\n")
                    add(s, header)
                else:
                    add(raw, hello)
            except OSError as e:
                raw.close()
                errors.append("%s: %r" % (slow_addr(i), e))
            if time.monotonic() - last >= 1:
                last = time.monotonic()
                for c in slow:
                    if c.cut is None:
                        c.trickle()
        t_open = time.monotonic() - t_open
        if errors:
            not_ok("%d of %d slow clients could not connect: %s" % (len(errors), n, errors[:3]))
        for key, _ in sel.select(0):
            key.data.readable()
        alive = sum(1 for c in slow if c.cut is None)
        # Cut before request_timeout: the server dropped a client it had
        # room for.  On a loaded machine opening them all may take longer
        # than request_timeout, and then the first ones are rightly cut.
        early = [c for c in slow if c.cut is not None and c.cut < deadline - 0.5]
        if alive == n + 1:
            ok("%d slow clients from distinct addresses and a slowloris are connected "
               "(%.1f s to open)" % (n, t_open))
        elif t_open > deadline - 1 and not early:
            ok("%d of %d slow clients still connected after %.1f s to open (longer than "
               "request_timeout: the others were cut at it, none earlier)" % (alive, n + 1, t_open))
        else:
            not_ok("only %d of %d slow clients still connected after %.1f s" %
                   (alive, n + 1, t_open))
        # A normal client from another address, while they all hold on.
        try:
            secs, status, body = health(port, cafile, 2.0)
            if status == 200 and json.loads(body) == {"status": "ok"}:
                ok("GET /v1/health from 127.0.0.1 answered in %.3f s beside %d slow clients"
                   % (secs, alive))
            else:
                not_ok("GET /v1/health beside the slow clients: %d %r" % (status, body))
        except (OSError, EOFError) as e:
            not_ok("GET /v1/health beside %d slow clients not answered within 2 s: %r" %
                   (alive, e))
        # Keep trickling until the server cuts every one of them.
        end = time.monotonic() + deadline + 3
        while time.monotonic() < end and any(c.cut is None for c in slow):
            for key, _ in sel.select(0.2):
                key.data.readable()
            if time.monotonic() - last >= 1:
                last = time.monotonic()
                for c in slow:
                    if c.cut is None:
                        c.trickle()
        # How late a cut may be seen: the server sweeps deadlines about once a
        # second and this client notices a close only when its own loop comes
        # round, both of which slip on a loaded machine.
        slack = 3.0
        if loris.cut is None:
            not_ok("the slowloris (%d header bytes so far) was not cut off" % loris.pos)
        elif deadline - 0.5 <= loris.cut <= deadline + slack:
            ok("the slowloris was cut off %.2f s after connecting, %d bytes into its header "
               "(request_timeout %d s)" % (loris.cut, loris.pos, deadline))
        else:
            not_ok("the slowloris was cut off after %.2f s, want %d s" % (loris.cut, deadline))
        left = [c for c in slow if c.cut is None]
        early = [c for c in slow if c.cut is not None and c.cut < deadline - 0.5]
        late = [c for c in slow if c.cut is not None and c.cut > deadline + slack]
        if left or early or late:
            not_ok("slow clients: %d never cut, %d cut early, %d late (request_timeout %d s)" %
                   (len(left), len(early), len(late), deadline))
        else:
            cuts = sorted(c.cut for c in slow)
            ok("all %d slow clients were cut off %.2f to %.2f s after connecting" %
               (len(slow), cuts[0], cuts[-1]))
        # And the server still serves.
        try:
            secs, status, _ = health(port, cafile, 2.0)
            if status == 200:
                ok("served again after the crowd (%.3f s)" % secs)
            else:
                not_ok("after the crowd: %d" % status)
        except (OSError, EOFError) as e:
            not_ok("after the crowd: %r" % e)
    finally:
        for c in slow:
            c.sock.close()
        sel.close()


def keepalive(port, cafile, n, secs):
    raise_nofile(n + 200)
    ctx = client_ctx(cafile)
    lock = threading.Lock()
    errors, counts = [], [0, 0]  # requests, connections
    stop = time.monotonic() + secs
    req = b"GET /v1/health HTTP/1.1\r\nHost: pki\r\n\r\n"

    def worker():
        done = conns = 0
        s = None
        try:
            while time.monotonic() < stop:
                raw = socket.create_connection(("127.0.0.1", port), timeout=10)
                s = ctx.wrap_socket(raw)
                conns += 1
                buf = b""
                for _ in range(50):
                    if time.monotonic() >= stop:
                        break
                    s.sendall(req)
                    status, body, buf = read_reply(s, buf)
                    if status != 200:
                        raise RuntimeError("HTTP %d %r" % (status, body[:80]))
                    done += 1
                s.close()
                s = None
        except Exception as e:  # any failure is a connection error here
            with lock:
                errors.append(repr(e))
        finally:
            if s is not None:
                s.close()
            with lock:
                counts[0] += done
                counts[1] += conns

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        not_ok("%d keep-alive clients for %d s: %d connection errors, e.g. %s" %
               (n, secs, len(errors), errors[:3]))
    elif counts[0] < n:
        not_ok("%d keep-alive clients: only %d requests" % (n, counts[0]))
    else:
        ok("%d keep-alive clients from 127.0.0.1 for %d s: %d requests on %d connections, "
           "0 errors" % (n, secs, counts[0], counts[1]))


def exchange(port, cafile, data, timeout=10, send_all=True):
    """Send `data` on a fresh TLS connection: (status or None when closed, body)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s = None
    try:
        s = client_ctx(cafile).wrap_socket(raw)
        try:
            if send_all:
                s.sendall(data)
            else:  # the server may stop reading: send what it takes
                for i in range(0, len(data), 65536):
                    s.sendall(data[i:i + 65536])
        except OSError:
            pass  # closed while we sent: the reply, if any, is still readable
        try:
            status, body, _ = read_reply(s)
            return status, body
        except (OSError, EOFError):
            return None, b""
    finally:
        (s or raw).close()
        raw.close()


def post(path, body, token=None, ctype="application/json", extra=b""):
    h = b"POST " + path + b" HTTP/1.1\r\nHost: pki\r\nConnection: close\r\n"
    h += b"Content-Type: " + ctype.encode() + b"\r\n"
    if token:
        h += b"Authorization: Bearer " + token.encode() + b"\r\n"
    h += extra
    return h + b"Content-Length: %d\r\n\r\n" % len(body) + body


def csr_json(pem_text):
    return json.dumps({"csr": pem_text}).encode()


def malformed(port, cafile, token, csr_file, csr1000_file):
    csr = open(csr_file).read()
    csr1000 = open(csr1000_file).read()
    der_tail = csr.replace("-----END CERTIFICATE REQUEST-----",
                           "-----END CERTIFICATE REQUEST-----\ntrailing garbage")

    def want(name, data, statuses, code=None, **kw):
        status, body = exchange(port, cafile, data, **kw)
        err = None
        if status is not None:
            try:
                err = json.loads(body).get("error")
            except ValueError:
                err = "(not JSON)"
        got = "closed" if status is None else "%d %s" % (status, err)
        if status in statuses and (code is None or status is None or err == code):
            ok("%s: %s" % (name, got))
        else:
            not_ok("%s: got %s, want %s%s" % (name, got, statuses, " " + code if code else ""))

    big = b"GET /v1/health HTTP/1.1\r\nHost: pki\r\n" + \
        b"".join(b"X-Big-%d: %s\r\n" % (i, b"b" * 1000) for i in range(200)) + b"\r\n"
    want("a 200 KB request header", big, (431, None))
    want("invalid chunked encoding",
         b"POST /v1/sign HTTP/1.1\r\nHost: pki\r\nContent-Type: application/json\r\n"
         b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", (400, None))
    ten = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    want("a 10 MiB body (Content-Length)", post(b"/v1/sign", ten, token), (413,),
         "payload_too_large", send_all=False)
    chunks = b"".join(b"10000\r\n" + b" " * 0x10000 + b"\r\n" for _ in range(160))
    want("a 10 MiB chunked body",
         b"POST /v1/sign HTTP/1.1\r\nHost: pki\r\nContent-Type: application/json\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n", (413, None),
         "payload_too_large", send_all=False)
    want("JSON nested 20,000 deep", post(b"/v1/sign", b"[" * 20000 + b"]" * 20000, token),
         (400,), "bad_request")
    want("JSON object nested 5,000 deep",
         post(b"/v1/sign", b'{"a":' * 5000 + b"1" + b"}" * 5000, token), (400,), "bad_request")
    want("invalid UTF-8 in a JSON string", post(b"/v1/sign", b'{"csr": "\xff\xfe"}', token),
         (400,), "bad_request")
    want("an escaped NUL in a JSON string",
         post(b"/v1/sign", b'{"csr": "a\\u0000b"}', token), (400,), "bad_request")
    want("a raw NUL in a JSON string", post(b"/v1/sign", b'{"csr": "a\x00b"}', token),
         (400,), "bad_request")
    want("a CSR with 1,000 names", post(b"/v1/sign", csr_json(csr1000), token), (400,),
         "bad_csr")
    want("trailing data after the PEM block", post(b"/v1/sign", csr_json(der_tail), token),
         (400,), "bad_csr")
    want("two PEM blocks", post(b"/v1/sign", csr_json(csr + csr), token), (400,), "bad_csr")
    want("bare base64 with trailing bytes (not PEM, not DER)",
         post(b"/v1/sign", csr_json("".join(csr.splitlines()[1:-1]) + "AAAA"), token),
         (400,), "bad_csr")


def main():
    mode = sys.argv[1]
    port, cafile = int(sys.argv[2]), sys.argv[3]
    if mode == "crowd":
        crowd(port, cafile, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "keepalive":
        keepalive(port, cafile, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "malformed":
        malformed(port, cafile, sys.argv[4], sys.argv[5], sys.argv[6])
    else:
        sys.exit("unknown mode " + mode)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
