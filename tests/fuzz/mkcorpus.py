#!/usr/bin/env python3
"""mkcorpus.py - write the seed corpora of tests/fuzz/corpus/NAME/.

Run from tests/fuzz (python3-cryptography).  Seeds are small valid inputs
(and a few near misses); regenerating changes keys and signatures, so the
files in the tree are what the suite replays.  Inputs that crashed a target
are added by hand as corpus/NAME/crash-DESCRIPTION and never regenerated.
"""
import base64, json, os, struct
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, padding
from cryptography.x509.oid import NameOID
import ipaddress

def put(name, fname, data):
    os.makedirs('corpus/' + name, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open('corpus/%s/%s' % (name, fname), 'wb') as f:
        f.write(data)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()

# ---- csr ----
def csr(key, cn, sans, h=hashes.SHA256()):
    b = x509.CertificateSigningRequestBuilder()
    b = b.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else h)

p256 = ec.generate_private_key(ec.SECP256R1())
p384 = ec.generate_private_key(ec.SECP384R1())
r2048 = rsa.generate_private_key(65537, 2048)
ed = ed25519.Ed25519PrivateKey.generate()
D, IP, U, E = x509.DNSName, x509.IPAddress, x509.UniformResourceIdentifier, x509.RFC822Name
csrs = {
    'p256-dns': csr(p256, 'a.example.com', [D('a.example.com'), D('*.b.example.com')]),
    'p384-ip-uri': csr(p384, None, [IP(ipaddress.ip_address('10.0.0.5')),
                                    U('spiffe://example.org/ns/a')]),
    'rsa-cn-only': csr(r2048, 'db.internal', []),
    'ed25519-mixed': csr(ed, 'x.example.org', [D('x.example.org'), E('ops@example.com'),
                                               IP(ipaddress.ip_address('fd00::1'))]),
    'p256-many': csr(p256, None, [D('n%d.example.com' % i) for i in range(12)]),
}
for n, c in csrs.items():
    der = c.public_bytes(serialization.Encoding.DER)
    put('csr', n + '.pem', c.public_bytes(serialization.Encoding.PEM))
    put('csr', n + '.der', der)
    put('csr', n + '.resign', bytes([0x10 | (len(n) % 5)]) + der)

# ---- json: request bodies of /v1/sign, /v1/renew, /v1/revoke, /v1/tokens ----
pem = csrs['p256-dns'].public_bytes(serialization.Encoding.PEM).decode()
for n, body in {
    'sign': {'csr': pem, 'profile': 'private', 'validity': '30d'},
    'sign-min': {'csr': 'x'},
    'renew': {'csr': pem},
    'revoke': {'serial': '0x3a:4f:00:11', 'reason': 'keyCompromise'},
    'tokens': {'profile': 'private', 'names': ['*.example.com', 'ip:10.0.0.5',
                                               'spiffe://example.org/ns/a', 'email:a@b.c'],
               'ttl': '1h30m', 'uses': 3},
    'unknown-field': {'csr': 'x', 'extra': 1},
}.items():
    put('json', n + '.json', json.dumps(body))
put('json', 'duplicate.json', '{"csr":"a","csr":"b"}')
put('json', 'bad-utf8.json', b'{"serial":"\xc3\x28"}')
put('json', 'nul.json', '{"serial":"ab\\u0000cd"}')
put('json', 'deep.json', '[' * 40 + ']' * 40)

# ---- profile: the shipped templates ----
for t in ('private', 'public', 'domain-validated'):
    with open('../../templates/%s.json' % t) as f:
        put('profile', t + '.json', f.read())

# ---- token: Bearer values and token names ----
put('token', 'shaped', 'mtls_0123456789abcdef.' + 'A' * 43)
put('token', 'short', 'mtls_0123456789abcdef.abc')
for i, n in enumerate(['*.example.com', 'dns:A.Example.COM', '10.0.0.5', 'ip:::ffff:1.2.3.4',
                       'spiffe://example.org/ns/a', 'uri:https://x.test/a', 'email:ops@example.com',
                       'xn--bcher-kva.example', 'a_b.example.com']):
    put('token', 'name-%d' % i, n)

# ---- jws: flattened JWS and bare JWKs ----
def jwk_of(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        n = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        return {'kty': 'EC', 'crv': 'P-256' if size == 32 else 'P-384',
                'x': b64u(n.x.to_bytes(size, 'big')), 'y': b64u(n.y.to_bytes(size, 'big'))}
    if isinstance(key, rsa.RSAPrivateKey):
        n = key.public_key().public_numbers()
        return {'kty': 'RSA', 'n': b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, 'big')),
                'e': b64u(n.e.to_bytes(3, 'big'))}
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {'kty': 'OKP', 'crv': 'Ed25519', 'x': b64u(raw)}

def sign(key, alg, si):
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    if alg in ('ES256', 'ES384'):
        r, s = decode_dss_signature(key.sign(si, ec.ECDSA(hashes.SHA256() if alg == 'ES256'
                                                           else hashes.SHA384())))
        size = 32 if alg == 'ES256' else 48
        return r.to_bytes(size, 'big') + s.to_bytes(size, 'big')
    if alg == 'RS256':
        return key.sign(si, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(si)

def jws(key, alg, payload, kid=None):
    hdr = {'alg': alg, 'nonce': 'bm9uY2U', 'url': 'https://ca.test/acme/new-order'}
    if kid:
        hdr['kid'] = kid
    else:
        hdr['jwk'] = jwk_of(key)
    p = b64u(json.dumps(hdr).encode())
    pl = b64u(json.dumps(payload).encode()) if payload is not None else ''
    sig = sign(key, alg, (p + '.' + pl).encode())
    return json.dumps({'protected': p, 'payload': pl, 'signature': b64u(sig)})

order = {'identifiers': [{'type': 'dns', 'value': 'a.example.com'}]}
put('jws', 'es256-jwk', jws(p256, 'ES256', {'termsOfServiceAgreed': True}))
put('jws', 'es384-jwk', jws(p384, 'ES384', order))
put('jws', 'rs256-jwk', jws(r2048, 'RS256', order))
put('jws', 'eddsa-jwk', jws(ed, 'EdDSA', order))
put('jws', 'es256-kid', jws(p256, 'ES256', order, kid='https://ca.test/acme/acct/1'))
put('jws', 'post-as-get', jws(p256, 'ES256', None, kid='https://ca.test/acme/acct/1'))
for n, k in (('p256', p256), ('p384', p384), ('rsa', r2048), ('ed25519', ed)):
    put('jws', 'jwk-' + n, json.dumps(jwk_of(k)))

# ---- der_crl: number(8) this(5) next(5) then serial_len(1) serial time(5) reason(1) ----
def t5(v):
    return v.to_bytes(5, 'big')
def crl(number, this, nxt, entries):
    b = struct.pack('>q', number) + t5(this) + t5(nxt)
    for serial, at, reason in entries:
        b += bytes([len(serial)]) + serial + t5(at) + bytes([reason])
    return b
put('der_crl', 'empty', crl(1, 1796083200, 1796688000, []))
put('der_crl', 'entries', crl(42, 1796083200, 1796688000,
                              [(bytes.fromhex('7f' + '11' * 15), 1796000000, 0),
                               (bytes.fromhex('80' + '22' * 15), 1796000001, 1),
                               (bytes.fromhex('00' * 3 + '05'), 1796000002, 9),
                               (bytes.fromhex('ff' * 20), 1796000003, 5)]))
put('der_crl', 'generalized', crl(2 ** 40, 2524608000, 2524608000 + 86400,
                                  [(b'\x01', 2524608000, 4)]))
put('der_crl', 'refused', crl(-1, 0, 0, [(b'', 0, 7)]))

# ---- signer: selector octet (mod 3) then a TBSCertificate, a TBSCertList or frames ----
# The fuzz CA is made afresh in each run, so these are issued by another CA: the
# lint refuses them at the issuer check, after parsing them whole.
import datetime
sk = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime(2026, 12, 1)
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'mtlsca fuzz CA')])
leaf = (x509.CertificateBuilder().subject_name(x509.Name([]))
        .issuer_name(ca_name).public_key(sk.public_key())
        .serial_number(int.from_bytes(b'\x11' * 16, 'big'))
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName('a.example.internal')]), True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .sign(sk, hashes.SHA256()))
put('signer', 'tbs-cert', b'\x00' + leaf.tbs_certificate_bytes)
cl = (x509.CertificateRevocationListBuilder().issuer_name(ca_name)
      .last_update(now).next_update(now + datetime.timedelta(days=7))
      .add_extension(x509.CRLNumber(7), False)
      .sign(sk, hashes.SHA256()))
put('signer', 'tbs-crl', b'\x01' + cl.tbs_certlist_bytes)
def frame(op, payload):
    return bytes([op]) + struct.pack('>I', len(payload)) + payload
put('signer', 'frames', b'\x02' + frame(1, b'\x00' + leaf.tbs_certificate_bytes) + frame(3, b'\x00')
    + frame(4, b''))
put('signer', 'frame-too-long', b'\x02' + bytes([1]) + struct.pack('>I', 65537) + b'x' * 16)
put('signer', 'frame-truncated', b'\x02' + bytes([2]) + struct.pack('>I', 100) + b'abc')

# ---- ocsp: OCSP requests as clients send them ----
# (Also in the tree, made with the real clients: sha1 and sha1-nonce
# ("openssl ocsp -reqout", with and without -no_nonce), sha256-two (two
# certificates), five (more than MCA_OCSP_MAX_CERTS), signed (-signer),
# gnutls ("ocsptool --generate-request"), truncated, junk.)
from cryptography.x509 import ocsp as x509_ocsp
ocsp_req = (x509_ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(b'\x11' * 32, b'\x22' * 32, 0x1122, hashes.SHA256())
            .add_extension(x509.OCSPNonce(b'\x07' * 16), critical=False).build())
put('ocsp', 'py-sha256-nonce', ocsp_req.public_bytes(serialization.Encoding.DER))
