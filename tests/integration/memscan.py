#!/usr/bin/env python3
"""memscan.py KEYTEXT PID... - for each PID, whether its memory holds the EC
private scalar printed by `openssl pkey -text` in KEYTEXT, big-endian (as
in DER/PEM) or little-endian (OpenSSL's BIGNUM limbs on x86-64).  Prints
"PID found|absent|unreadable" per line.  Reads /proc/PID/maps and mem
(needs root), in chunks; mappings over 4 GiB (a sanitizer's shadow memory,
reserved and never written with data) are skipped."""
import re
import sys

text = open(sys.argv[1]).read()
m = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
if not m:
    sys.exit("no priv: in the key text")
priv = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
priv = priv.lstrip(b"\0").rjust(32, b"\0")
needles = [priv, priv[::-1]]

for pid in sys.argv[2:]:
    found, readable = False, False
    with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if hi - lo > 4 << 30:
                continue
            tail = b""
            pos = lo
            while pos < hi and not found:
                n = min(16 << 20, hi - pos)
                try:
                    mem.seek(pos)
                    chunk = mem.read(n)
                except (OSError, ValueError, OverflowError):
                    break
                readable = True
                # keep the end of the last chunk: a needle may straddle two
                if any(x in tail + chunk for x in needles):
                    found = True
                tail = chunk[-31:]
                pos += n
            if found:
                break
    print(pid, "found" if found else ("absent" if readable else "unreadable"))
