#!/usr/bin/env python3
"""Generate the PII evaluation corpora tests/guard/data/eval_pii_{dev,test}.jsonl.

Reproducible (fixed seeds).  Values that carry a checksum are valid (Luhn,
IBAN mod-97 with per-country lengths, NHS mod-11, Base58Check, Bech32/Bech32m,
EIP-55); the sentence templates are hand written.  The dev and the test file
use DISJOINT template sets (each template group is split alternately) and
different random values, so the test file measures generalisation to unseen
contexts.  Offsets are UTF-8 byte offsets, end-exclusive.

Labelling conventions (Presidio entity names):
  * PHONE_NUMBER covers the whole number incl. leading '+' and parentheses.
  * URL spans never include trailing sentence punctuation or a closing ')'.
  * IP_ADDRESS: a dotted quad with valid octets is an IP (as Presidio does);
    a port ("10.0.0.1:8080") or brackets are not part of the span.
  * DATE_TIME: only dates of birth introduced by a context word; other
    dates and timestamps are negatives.
  * US_PASSPORT / US_DRIVER_LICENSE only with a context word.
  * CRYPTO: BTC (P2PKH, P2SH, bech32, bech32m) and ETH (0x + 40 hex).
Usage: python3 scripts/gen_pii_eval.py [outdir]   (default tests/guard/data)
"""
import hashlib, json, os, random, re, sys

# ---------------------------------------------------------------- checksums
def luhn_digit(s):
    tot = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        tot += d
    return str((10 - tot % 10) % 10)

def luhn_ok(s):
    return luhn_digit(s[:-1]) == s[-1]

def iban_check(cc, bban):
    s = bban + cc + "00"
    n = int("".join(str(int(c, 36)) for c in s))
    return "%02d" % (98 - n % 97)

def iban_ok(iban):
    s = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def b58check(payload):
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(raw, "big"); out = ""
    while n: n, r = divmod(n, 58); out = B58[r] + out
    for b in raw:
        if b: break
        out = "1" + out
    return out

BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
def _polymod(vals):
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in vals:
        b = chk >> 25
        chk = ((chk & 0x1ffffff) << 5) ^ v
        for i in range(5):
            if (b >> i) & 1: chk ^= gen[i]
    return chk

def _hrp(h): return [ord(c) >> 5 for c in h] + [0] + [ord(c) & 31 for c in h]

def _bits(data, fb, tb):
    acc = bits = 0; out = []; mx = (1 << tb) - 1
    for v in data:
        acc = (acc << fb) | v; bits += fb
        while bits >= tb: bits -= tb; out.append((acc >> bits) & mx)
    if bits: out.append((acc << (tb - bits)) & mx)
    return out

def segwit(hrp, ver, prog):
    data = [ver] + _bits(prog, 8, 5)
    const = 1 if ver == 0 else 0x2bc830a3
    pm = _polymod(_hrp(hrp) + data + [0] * 6) ^ const
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + chk)

_RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
       0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
       0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
       0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
       0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
       0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61],
        [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
_M = (1 << 64) - 1
def _rot(v, n): return ((v << n) | (v >> (64 - n))) & _M if n else v
def keccak256(data):
    data = bytearray(data) + b"\x01"
    while len(data) % 136: data.append(0)
    data[-1] |= 0x80
    A = [[0] * 5 for _ in range(5)]
    for off in range(0, len(data), 136):
        for i in range(17):
            A[i % 5][i // 5] ^= int.from_bytes(data[off + 8 * i:off + 8 * i + 8], "little")
        for rc in _RC:
            C = [A[x][0] ^ A[x][1] ^ A[x][2] ^ A[x][3] ^ A[x][4] for x in range(5)]
            D = [C[(x - 1) % 5] ^ _rot(C[(x + 1) % 5], 1) for x in range(5)]
            A = [[A[x][y] ^ D[x] for y in range(5)] for x in range(5)]
            B = [[0] * 5 for _ in range(5)]
            for x in range(5):
                for y in range(5):
                    B[y][(2 * x + 3 * y) % 5] = _rot(A[x][y], _ROT[x][y])
            A = [[B[x][y] ^ ((~B[(x + 1) % 5][y]) & B[(x + 2) % 5][y]) for y in range(5)]
                 for x in range(5)]
            A[0][0] ^= rc
    return b"".join(A[i % 5][i // 5].to_bytes(8, "little") for i in range(4))

def eip55(hexaddr):
    h = keccak256(hexaddr.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c
                          for i, c in enumerate(hexaddr))

def nhs_check(d9):
    s = sum(int(d) * (10 - i) for i, d in enumerate(d9))
    c = 11 - s % 11
    if c == 11: c = 0
    return None if c == 10 else str(c)

# self-checks of the checksum code against published examples
assert keccak256(b"").hex().startswith("c5d2460186f7233c")
assert eip55("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
assert segwit("bc", 0, bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")) == \
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
assert iban_ok("GB82WEST12345698765432") and iban_ok("DE89370400440532013000")
assert b58check(bytes(21)) == "1111111111111111111114oLvT2"
assert nhs_check("943476591") == "9"

# ---------------------------------------------------------------- values
class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def pick(self, xs): return self.r.choice(xs)
    def digits(self, n): return "".join(self.r.choice("0123456789") for _ in range(n))
    def hexs(self, n): return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    FIRST = ["james", "maria", "wei", "fatima", "olivia", "liam", "sofia", "noah", "aisha",
             "lucas", "emma", "mateo", "chloe", "arjun", "hannah", "kenji", "zoe", "omar",
             "ines", "pieter", "sean", "priya", "diego", "anna", "tomasz", "leila", "john",
             "katarzyna", "yuki", "carlos"]
    LAST = ["smith", "garcia", "chen", "khan", "mueller", "rossi", "dubois", "nguyen",
            "okafor", "silva", "jensen", "kowalski", "tanaka", "obrien", "patel", "haddad",
            "johansson", "moreau", "schmidt", "walker", "lee", "novak", "fischer", "brown"]
    NAMES = ["José García", "Zoë Müller", "Björn Åkesson", "Anna Kowalska", "Liam O'Brien",
             "Priya Patel", "Chen Wei", "Fatima Haddad", "Jean-Luc Moreau", "Sofia Rossi",
             "Mark Johnson", "Emily Clarke", "Kenji Tanaka", "Ngozi Okafor", "François Dubois",
             "Ana Silva", "Søren Jensen", "Ramón Ortiz", "Hannah Schmidt", "David Lee"]
    WORDS = ["acme", "globex", "initech", "northwind", "contoso", "fabrikam", "hooli",
             "umbrella-corp", "bluebird", "nimbus", "starlight", "riverbank", "pinecone",
             "quantum-labs", "redleaf", "silverline", "brightpath", "oakridge", "zenith",
             "mapleworks", "harbor", "copperfield", "northstar", "evergreen"]
    TLDS = ["com", "org", "net", "io", "co.uk", "de", "fr", "dev", "ai", "info", "eu",
            "ca", "com.au", "nl", "app", "es", "ch", "biz", "us", "co"]
    MAILHOSTS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "web.de",
                 "proton.me", "icloud.com", "gmx.net", "mail.ru", "orange.fr", "aol.com"]

    def domain(self):
        return self.pick(self.WORDS) + "." + self.pick(self.TLDS)

    def email(self):
        f, l = self.pick(self.FIRST), self.pick(self.LAST)
        k = self.r.randrange(10)
        if k == 0: local = f + "." + l
        elif k == 1: local = f[0] + l + str(self.r.randrange(1, 99))
        elif k == 2: local = f + "+" + self.pick(["news", "shop", "work", "spam", "2024", "billing"])
        elif k == 3: local = f + "_" + l
        elif k == 4: local = (f + "." + l).upper()
        elif k == 5: local = f.capitalize() + "." + l.capitalize()
        elif k == 6: local = l + "-" + f + str(self.r.randrange(1, 9))
        elif k == 7: local = f + "." + l + "+" + self.pick(["ml", "x", "alerts"])
        elif k == 8: local = f + str(self.r.randrange(1970, 2010))
        else: local = self.pick(["support", "billing", "info", "hr", "no-reply", "admin"])
        j = self.r.randrange(6)
        if j == 0: host = self.pick(self.MAILHOSTS)
        elif j == 1: host = "mail." + self.domain()
        elif j == 2: host = self.pick(["eu", "us", "corp", "dept"]) + "." + self.domain()
        elif j == 3 and k == 4: host = self.domain().upper()
        else: host = self.domain()
        return local + "@" + host

    def phone(self):
        r = self.r
        us_area = ["212", "312", "415", "617", "646", "202", "303", "206", "512", "713",
                   "305", "404", "702", "818", "720", "503", "602", "919", "469", "347"]
        def exch():
            while True:
                e = str(r.randrange(201, 990))
                if e[1:] != "11" and e != "555": return e
        k = r.randrange(22)
        a, e, s = self.pick(us_area), exch(), self.digits(4)
        if k == 0: return "(%s) %s-%s" % (a, e, s)
        if k == 1: return "%s-%s-%s" % (a, e, s)
        if k == 2: return "%s.%s.%s" % (a, e, s)
        if k == 3: return "+1 %s %s %s" % (a, e, s)
        if k == 4: return "+1-%s-%s-%s" % (a, e, s)
        if k == 5: return "+1%s%s%s" % (a, e, s)
        if k == 6: return "+1 (%s) %s-%s" % (a, e, s)
        if k == 7: return "1-%s-%s-%s" % (a, e, s)
        if k == 8: return "+44 20 7946 0%s" % self.digits(3)
        if k == 9: return "020 7946 0%s" % self.digits(3)
        if k == 10: return "+44 7700 900%s" % self.digits(3)
        if k == 11: return "07700 900%s" % self.digits(3)
        if k == 12: return "+44 161 496 0%s" % self.digits(3)
        nz = lambda n: str(r.randrange(1, 10)) + self.digits(n - 1)  # no leading 0
        if k == 13: return "+49 30 %s" % nz(r.choice([6, 7, 8]))
        if k == 14: return "+49 89 %s %s" % (nz(3), self.digits(4))
        if k == 15: return "+49 151 %s" % nz(8)
        if k == 16: return "+33 1 %s %s %s %s" % tuple(self.digits(2) for _ in range(4))
        if k == 17: return "+33 6 %s %s %s %s" % tuple(self.digits(2) for _ in range(4))
        if k == 18: return "+91 98%s %s" % (self.digits(3), self.digits(5))
        if k == 19: return "+61 2 9%s %s" % (self.digits(3), self.digits(4))
        if k == 20: return "+34 91%s %s %s" % (self.digits(1), self.digits(3), self.digits(3))
        return "+353 1 %s %s" % (nz(3), self.digits(4))

    def card_digits(self, valid=True):
        r = self.r
        brand = r.randrange(8)
        if brand in (0, 1): pre, n = "4", 16
        elif brand == 2: pre, n = str(r.randrange(51, 56)), 16
        elif brand == 3: pre, n = str(r.randrange(2221, 2721)), 16
        elif brand == 4: pre, n = r.choice(["34", "37"]), 15
        elif brand == 5: pre, n = r.choice(["6011", "65"]), 16
        elif brand == 6: pre, n = "35" + str(r.randrange(28, 90)), 16
        else: pre, n = r.choice(["36", "38", "300", "305"]), 14
        body = pre + self.digits(n - 1 - len(pre))
        d = luhn_digit(body)
        if not valid:
            d = str((int(d) + r.randrange(1, 10)) % 10)
        return body + d

    def card(self, valid=True):
        d = self.card_digits(valid)
        sep = self.pick([" ", "-", "", " ", ""])
        if len(d) == 15: g = [d[:4], d[4:10], d[10:]]
        elif len(d) == 14: g = [d[:4], d[4:10], d[10:]]
        else: g = [d[i:i + 4] for i in range(0, 16, 4)]
        return sep.join(g)

    # country: (length, bban pattern) n=digit, a=upper letter, c=alnum upper
    IBAN = {"DE": "n18", "GB": "a4n14", "FR": "n10c11n2", "ES": "n20", "IT": "a1n10c12",
            "NL": "a4n10", "BE": "n12", "CH": "n5c12", "AT": "n16", "PL": "n24",
            "SE": "n20", "NO": "n11", "DK": "n14", "FI": "n14", "IE": "a4n14",
            "PT": "n21", "LU": "n3c13", "GR": "n7c16", "CZ": "n20", "SA": "n2c18",
            "AE": "n19", "TR": "n5n1c16", "BR": "n23a1c1", "HU": "n24", "RO": "a4c16",
            "HR": "n17", "SI": "n15", "SK": "n20", "LT": "n16", "EE": "n16", "MT": "a4n5c18",
            "IS": "n22", "LI": "n5c12", "MC": "n10c11n2", "CY": "n8c16", "BG": "a4n6c8"}

    def iban_raw(self, valid=True):
        cc = self.pick(sorted(self.IBAN))
        bban = ""
        for kind, cnt in re.findall(r"([nac])(\d+)", self.IBAN[cc]):
            for _ in range(int(cnt)):
                if kind == "n": bban += self.r.choice("0123456789")
                elif kind == "a": bban += self.r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                else: bban += self.r.choice("0123456789" * 3 + "ABCDEFGHJKLMNPRSTUVWXYZ")
        chk = iban_check(cc, bban)
        if not valid:
            chk = "%02d" % ((int(chk) + self.r.randrange(1, 90)) % 97 + 2 if int(chk) < 90 else int(chk) - 7)
        s = cc + chk + bban
        assert iban_ok(s) == valid, s
        return s

    def iban(self, valid=True):
        s = self.iban_raw(valid)
        if self.r.random() < 0.5:
            return " ".join(s[i:i + 4] for i in range(0, len(s), 4))
        return s

    def ssn_parts(self):
        while True:
            a = self.r.randrange(1, 900)
            if a != 666: break
        g = self.r.randrange(1, 100); s = self.r.randrange(1, 10000)
        v = "%03d%02d%04d" % (a, g, s)
        if v in ("123456789", "078051120", "219099999") or len(set(v)) == 1: return self.ssn_parts()
        return "%03d" % a, "%02d" % g, "%04d" % s

    def ssn(self):
        a, g, s = self.ssn_parts()
        sep = self.pick(["-", "-", "-", " ", ""])
        return a + sep + g + sep + s

    def bad_ssn(self):
        k = self.r.randrange(4)
        g, s = "%02d" % self.r.randrange(10, 50), self.digits(4)
        if k == 0: return "000-%s-%s" % (g, s)
        if k == 1: return "666-%s-%s" % (g, s)
        if k == 2: return "9%s-%s-%s" % (self.digits(2), "%02d" % self.r.randrange(10, 50), s)
        return "%s-00-%s" % ("%03d" % self.r.randrange(100, 600), s)

    def itin(self):
        g = self.pick(list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
        sep = self.pick(["-", "-", " ", ""])
        return "9" + self.digits(2) + sep + "%02d" % g + sep + self.digits(4)

    def passport(self):
        if self.r.random() < 0.5: return str(self.r.randrange(1, 10)) + self.digits(8)
        return self.pick("ACEFHJKLMNPRSTUVWXYZ") + self.digits(8)

    def dl(self):
        k = self.r.randrange(6)
        L = "ABCDEFGHJKLMNPRSTVWY"
        if k == 0: return self.pick(L) + self.digits(7)          # CA-style
        if k == 1: return self.pick(L) + self.digits(12)         # FL/MI-style
        if k == 2: return str(self.r.randrange(1, 10)) + self.digits(8)  # NY 9 digits
        if k == 3: return str(self.r.randrange(1, 10)) + self.digits(7)  # TX 8 digits
        if k == 4: return self.pick(L) + self.digits(3) + "-" + self.digits(3) + "-" + self.digits(2) + "-" + self.digits(3) + "-" + self.digits(1)
        return self.pick(L) + self.digits(6)

    def ip4(self):
        r = self.r
        k = r.randrange(5)
        if k == 0: return "192.168.%d.%d" % (r.randrange(0, 256), r.randrange(1, 255))
        if k == 1: return "10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(1, 255))
        if k == 2: return "172.%d.%d.%d" % (r.randrange(16, 32), r.randrange(256), r.randrange(1, 255))
        return "%d.%d.%d.%d" % (r.randrange(1, 224), r.randrange(256), r.randrange(256), r.randrange(1, 255))

    def ip6(self):
        r = self.r
        h = lambda: "%x" % r.randrange(1, 65536)
        k = r.randrange(9)
        if k == 0: return ":".join("%04x" % r.randrange(65536) for _ in range(8))
        if k == 1: return "2001:db8:%s:%s::%s" % (h(), h(), h())
        if k == 2: return "fe80::%s:%s:%s:%s" % (h(), h(), h(), h())
        if k == 3: return "2001:db8::%s" % h()
        if k == 4: return "2a00:1450:%s:%s::%s" % (h(), h(), h())
        if k == 5: return "::ffff:%d.%d.%d.%d" % (r.randrange(1, 224), r.randrange(256), r.randrange(256), r.randrange(1, 255))
        if k == 6: return "::1"
        if k == 7: return ":".join(h() for _ in range(8)).upper()
        return "2606:4700:%s::%s:%s" % (h(), h(), h())

    def ip(self):
        return self.ip4() if self.r.random() < 0.6 else self.ip6()

    def mac(self):
        b = [self.r.randrange(256) for _ in range(6)]
        k = self.r.randrange(5)
        if k == 0: return ":".join("%02X" % x for x in b)
        if k == 1: return ":".join("%02x" % x for x in b)
        if k == 2: return "-".join("%02X" % x for x in b)
        if k == 3: return "-".join("%02x" % x for x in b)
        return ".".join("%02x%02x" % (b[i], b[i + 1]) for i in (0, 2, 4))

    def url(self):
        r = self.r
        d = self.domain()
        path = self.pick(["", "/", "/about", "/docs/getting-started", "/products/item-%d" % r.randrange(1, 999),
                          "/blog/2024/03/hello-world", "/account/settings", "/search?q=%s" % self.pick(self.WORDS),
                          "/login?next=%2Fhome&lang=en", "/index.html", "/wiki/Special:Random",
                          "/p/%s#section-2" % self.hexs(6), "/api/v2/users/%d" % r.randrange(1, 99999),
                          "/?utm_source=newsletter&utm_medium=email", "/files/report.pdf"])
        k = r.randrange(8)
        if k in (0, 1, 2): return "https://" + ("www." if r.random() < 0.4 else "") + d + path
        if k == 3: return "http://" + d + path
        if k == 4: return "www." + d + path
        if k == 5: return "https://" + self.pick(["shop", "app", "portal", "docs", "status"]) + "." + d + path
        if k == 6: return "https://" + d + ":8443" + (path or "/")
        return d + (path if path not in ("", "/") else "/contact")

    def dob(self):
        r = self.r
        y, m, d = r.randrange(1940, 2006), r.randrange(1, 13), r.randrange(1, 29)
        MON = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
        k = r.randrange(8)
        if k == 0: return "%02d/%02d/%d" % (m, d, y)
        if k == 1: return "%d-%02d-%02d" % (y, m, d)
        if k == 2: return "%s %d, %d" % (MON[m - 1], d, y)
        if k == 3: return "%d %s %d" % (d, MON[m - 1], y)
        if k == 4: return "%02d.%02d.%d" % (d, m, y)
        if k == 5: return "%02d/%02d/%d" % (d, m, y) if d > 12 else "%d/%d/%d" % (m, d, y)
        if k == 6: return "%s %d %d" % (MON[m - 1][:3], d, y)
        return "%d/%d/%d" % (m, d, y)

    def btc(self):
        k = self.r.randrange(4)
        prog = bytes(self.r.randrange(256) for _ in range(20))
        if k == 0: return b58check(b"\x00" + prog)
        if k == 1: return b58check(b"\x05" + prog)
        if k == 2: return segwit("bc", 0, prog)
        return segwit("bc", 1, bytes(self.r.randrange(256) for _ in range(32)))

    def eth(self):
        h = self.hexs(40)
        return eip55(h) if self.r.random() < 0.5 else "0x" + h

    def crypto(self):
        return self.btc() if self.r.random() < 0.6 else self.eth()

    def nino(self):
        F = "ABCEGHJKLMNOPRSTWXYZ"; S = "ABCEGHJKLMNPRSTWXYZ"
        while True:
            p = self.pick(F) + self.pick(S)
            if p not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"): break
        n = self.digits(6); suf = self.pick("ABCD")
        k = self.r.randrange(4)
        if k == 0: return p + n + suf
        if k == 3 and self.r.random() < 0.5: return (p + n + suf).lower()
        return "%s %s %s %s %s" % (p, n[:2], n[2:4], n[4:], suf)

    def nhs(self):
        while True:
            d9 = str(self.r.randrange(4, 10)) + self.digits(8)
            c = nhs_check(d9)
            if c is not None: break
        v = d9 + c
        k = self.r.randrange(3)
        if k == 0: return v
        if k == 1: return v[:3] + " " + v[3:6] + " " + v[6:]
        return v[:3] + "-" + v[3:6] + "-" + v[6:]

    # ------------------------------------------------------- negatives
    def neg(self, kind):
        r = self.r
        if kind == "BADCARD": return self.card(valid=False)
        if kind == "BADIBAN": return self.iban(valid=False)
        if kind == "BADSSN": return self.bad_ssn()
        if kind == "BADNHS":
            while True:
                d9 = str(r.randrange(4, 10)) + self.digits(8)
                c = nhs_check(d9)
                if c is not None: break
            return d9[:3] + " " + d9[3:6] + " " + d9[6:] + str((int(c) + 3) % 10)
        if kind == "ORDER": return self.pick(["#", "", "A-", "ORD-"]) + self.digits(r.choice([6, 7, 8]))
        if kind == "INVOICE": return "INV-%d-%05d" % (r.randrange(2019, 2026), r.randrange(1, 99999))
        if kind == "VERSION": return self.pick(["v%d.%d.%d" % (r.randrange(1, 20), r.randrange(30), r.randrange(50)),
                                               "%d.%d.%d" % (r.randrange(1, 20), r.randrange(30), r.randrange(50)),
                                               "10.0.%d.%d" % (r.randrange(17000, 26000), r.randrange(1000, 5000)),
                                               "%d.%d.%d-rc%d" % (r.randrange(1, 9), r.randrange(9), r.randrange(9), r.randrange(1, 5))])
        if kind == "ISBN": return self.pick(["978-3-16-148410-0", "0-306-40615-2", "978-0-262-03384-8",
                                            "978-1-4028-9462-6", "0-19-852663-6", "9780131103627"])
        if kind == "TS":
            y, mo, d = r.randrange(2019, 2026), r.randrange(1, 13), r.randrange(1, 29)
            hh, mm, ss = r.randrange(24), r.randrange(60), r.randrange(60)
            return self.pick(["%d-%02d-%02dT%02d:%02d:%02dZ" % (y, mo, d, hh, mm, ss),
                              "%d-%02d-%02d %02d:%02d:%02d" % (y, mo, d, hh, mm, ss),
                              "%02d:%02d:%02d" % (hh, mm, ss),
                              "%d-%02d-%02d" % (y, mo, d)])
        if kind == "PRICE": return self.pick(["$%d,%03d.%02d" % (r.randrange(1, 999), r.randrange(1000), r.randrange(100)),
                                             "€%d.%03d,%02d" % (r.randrange(1, 99), r.randrange(1000), r.randrange(100)),
                                             "USD %d,%03d,%03d" % (r.randrange(1, 99), r.randrange(1000), r.randrange(1000)),
                                             "£%d.%02d" % (r.randrange(1, 9999), r.randrange(100))])
        if kind == "TRACK": return self.pick(["1Z%s%s" % ("".join(r.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6)), self.digits(10)),
                                             "9400 1%s %s %s %s %s %s" % (self.digits(3), self.digits(4), self.digits(4), self.digits(4), self.digits(4), self.digits(2)),
                                             self.digits(12), "JD01460000" + self.digits(8)])
        if kind == "HASH": return self.pick([self.hexs(40), self.hexs(64), self.hexs(32), self.hexs(7)])
        if kind == "UUID": return "%s-%s-4%s-%s%s-%s" % (self.hexs(8), self.hexs(4), self.hexs(3), self.pick("89ab"), self.hexs(3), self.hexs(12))
        if kind == "DATE": return self.pick(["%d/%d/%d" % (r.randrange(1, 13), r.randrange(1, 29), r.randrange(2020, 2026)),
                                            "%s %d, %d" % (self.pick(["March", "June", "October"]), r.randrange(1, 29), r.randrange(2020, 2026)),
                                            "%d-%02d-%02d" % (r.randrange(2020, 2026), r.randrange(1, 13), r.randrange(1, 29))])
        if kind == "NUM": return "%d" % r.randrange(1000, 99999999)
        raise KeyError(kind)

VALUE = {"EMAIL": ("EMAIL_ADDRESS", Gen.email), "PHONE": ("PHONE_NUMBER", Gen.phone),
         "CC": ("CREDIT_CARD", Gen.card), "IBAN": ("IBAN_CODE", Gen.iban),
         "SSN": ("US_SSN", Gen.ssn), "ITIN": ("US_ITIN", Gen.itin),
         "PASSPORT": ("US_PASSPORT", Gen.passport), "DL": ("US_DRIVER_LICENSE", Gen.dl),
         "IP": ("IP_ADDRESS", Gen.ip), "IP4": ("IP_ADDRESS", Gen.ip4), "IP6": ("IP_ADDRESS", Gen.ip6),
         "MAC": ("MAC_ADDRESS", Gen.mac), "URL": ("URL", Gen.url), "DOB": ("DATE_TIME", Gen.dob),
         "CRYPTO": ("CRYPTO", Gen.crypto), "BTC": ("CRYPTO", Gen.btc), "ETH": ("CRYPTO", Gen.eth),
         "NINO": ("UK_NINO", Gen.nino), "NHS": ("UK_NHS", Gen.nhs)}
FILLER = {"NAME": lambda g: g.pick(Gen.NAMES), "FIRST": lambda g: g.pick(Gen.NAMES).split()[0],
          "CITY": lambda g: g.pick(["München", "São Paulo", "Zürich", "London", "Austin", "Kraków",
                                    "Lyon", "Dublin", "Toronto", "Malmö", "Sydney", "Chicago"]),
          "CO": lambda g: g.pick(["Acme Ltd", "Globex GmbH", "Initech LLC", "Northwind Traders",
                                  "Café Crème SARL", "Contoso AG"]),
          "N": lambda g: str(g.r.randrange(2, 60))}

# ---------------------------------------------------------------- templates
# Each group is split alternately between dev (even index) and test (odd index).
T = {}
T["email"] = [
    "Contact {NAME} at {EMAIL} for questions about the invoice.",
    "Please send the signed contract to {EMAIL} by Friday.",
    "Reply-To: {EMAIL}",
    "hey, my email is {EMAIL} — ping me there 🙂",
    "From: \"{NAME}\" <{EMAIL}>",
    "You can reach our HR team on {EMAIL} or via the portal.",
    "CC'ing {EMAIL} and {EMAIL} on this thread.",
    "Is {EMAIL} still your primary address?",
    "Registered user: {EMAIL} (verified)",
    "mailto:{EMAIL}",
    "Les réclamations sont à envoyer à {EMAIL}.",
    "Forwarded message from {EMAIL}: see below.",
]
T["phone"] = [
    "Call me on {PHONE} after 6pm.",
    "Phone: {PHONE}",
    "{NAME}'s mobile number is {PHONE}, landline unknown.",
    "For urgent issues dial {PHONE} (24/7 hotline).",
    "Tel. {PHONE} · Fax {PHONE}",
    "I tried {PHONE} twice but nobody picked up.",
    "The customer left a voicemail from {PHONE} yesterday.",
    "Ruf mich an unter {PHONE}, danke!",
    "Emergency contact: {NAME}, {PHONE}",
    "text me at {PHONE} when you land",
    "Our office in {CITY} can be reached at {PHONE}.",
    "WhatsApp: {PHONE}",
]
T["card"] = [
    "My card number is {CC}, expiry 09/27.",
    "Charge it to {CC} please.",
    "Payment failed for card {CC} — please retry.",
    "credit card: {CC}",
    "I paid with my Visa ({CC}) but was charged twice.",
    "Card ending in 1234 was declined, so I used {CC} instead.",
    "Kreditkartennummer: {CC}",
    "Customer {NAME} updated billing to {CC} on file.",
    "Here's the cc {CC} cvv 123",
    "Refund to the original card {CC} has been issued.",
]
T["iban"] = [
    "Please transfer the deposit to IBAN {IBAN}.",
    "Bank details: {IBAN} (BIC DEUTDEFFXXX)",
    "Wire the money to {IBAN} before the 15th.",
    "Mon IBAN est {IBAN}, merci.",
    "Account: {CO}, IBAN: {IBAN}",
    "Salary will be paid into {IBAN} from next month.",
    "Kontonummer (IBAN) {IBAN}",
    "Can you double-check {IBAN}? The bank rejected it.",
    "Refund destination: {IBAN}",
    "Beneficiary {NAME} — {IBAN}",
]
T["ssn"] = [
    "My social security number is {SSN}.",
    "SSN: {SSN}",
    "Applicant {NAME}, SSN {SSN}, requested a credit check.",
    "Please verify the social {SSN} against the W-2.",
    "The form lists SSN {SSN} but the name doesn't match.",
    "social security no. {SSN}",
    "Employee record: {NAME} | SSN: {SSN} | dept 4",
    "I think I typed my ssn wrong, it should be {SSN}",
]
T["itin"] = [
    "My ITIN is {ITIN}.",
    "Taxpayer ID (ITIN): {ITIN}",
    "Individual taxpayer identification number {ITIN} was issued in March.",
    "Please file using ITIN {ITIN} instead of an SSN.",
    "ITIN {ITIN} belongs to {NAME}.",
    "The IRS letter shows itin {ITIN}",
    "Dependent's ITIN: {ITIN}",
    "Use tax id {ITIN} on the 1040.",
]
T["passport"] = [
    "My passport number is {PASSPORT}.",
    "Passport No.: {PASSPORT}",
    "US passport {PASSPORT} expires next year.",
    "Traveler {NAME}, passport# {PASSPORT}, seat 14C.",
    "Please enter the passport number ({PASSPORT}) exactly as printed.",
    "passport: {PASSPORT} issued in {CITY}",
    "Renewal for passport {PASSPORT} is pending.",
    "The booking lists passport {PASSPORT} for {NAME}.",
]
T["dl"] = [
    "Driver's license number: {DL}",
    "My driver license is {DL}, issued in California.",
    "DL# {DL}",
    "Please upload a copy of driver's licence {DL}.",
    "{NAME} presented driver license {DL} at the counter.",
    "driving license no {DL} (exp 2027)",
    "The rental agreement lists DL {DL}.",
    "Driver's Lic: {DL}",
]
T["ip"] = [
    "Failed login from {IP} at 03:14.",
    "The server {IP} is not responding to ping.",
    "client_ip={IP} status=403",
    "Add {IP4} to the allowlist, please.",
    "Connection refused: [{IP6}]:443",
    "ssh admin@{IP4} -p 2222",
    "Our DNS resolver is {IP} and the gateway is {IP4}.",
    "Request from {IP4}:51822 blocked by WAF",
    "IPv6 address: {IP6}",
    "The user's last known IP was {IP}.",
    "Ping {IP4} shows 30% packet loss",
    "Peer {IP6} disconnected.",
]
T["mac"] = [
    "Device MAC address: {MAC}",
    "Please whitelist the MAC {MAC} on the guest network.",
    "DHCP lease for {MAC} expired.",
    "hwaddr {MAC} registered to {NAME}'s laptop",
    "The printer's MAC is {MAC}.",
    "ARP entry: {IP4} at {MAC} on eth0",
    "Blocked device {MAC} after repeated failures.",
    "mac={MAC} vlan=20",
]
T["url"] = [
    "Read the docs at {URL} before you start.",
    "See {URL}.",
    "Full details here: {URL}",
    "(more info: {URL})",
    "Reset your password at {URL}, the link expires in 24 hours.",
    "I found this on {URL} yesterday",
    "Redirecting to {URL} ...",
    "Download the report from \"{URL}\"",
    "Check out {URL}!",
    "link: <{URL}>",
    "Our status page ({URL}) shows an outage.",
    "Visit {URL} or call us.",
]
T["dob"] = [
    "Date of birth: {DOB}",
    "DOB {DOB}",
    "I was born on {DOB} in {CITY}.",
    "Patient {NAME}, D.O.B. {DOB}, admitted for observation.",
    "My birthday is {DOB}.",
    "birth date: {DOB}",
    "Born {DOB}, {NAME} joined the company in 2015.",
    "Please confirm your date of birth ({DOB}).",
    "dob: {DOB}",
    "Geburtsdatum / date of birth {DOB}",
]
T["crypto"] = [
    "Send the BTC to {BTC}.",
    "My ETH wallet is {ETH}",
    "Donations: {CRYPTO}",
    "Pay 0.05 BTC to {BTC} to unlock your files.",
    "withdrawal address {CRYPTO} confirmed",
    "Transfer USDT (ERC-20) to {ETH} only.",
    "Bitcoin address: {BTC}",
    "Please whitelist wallet {CRYPTO} in the exchange.",
    "Tips welcome at {CRYPTO} 🙏",
    "The scammer asked for payment to {BTC}.",
]
T["nino"] = [
    "My national insurance number is {NINO}.",
    "NI number: {NINO}",
    "Employee {NAME}, NINO {NINO}, starts Monday.",
    "Please quote your NI no. {NINO} on all correspondence.",
    "National Insurance: {NINO}",
    "HMRC has {NINO} on record for you.",
    "nino {NINO}",
    "The payslip shows NI {NINO}.",
]
T["nhs"] = [
    "NHS number: {NHS}",
    "Patient {NAME} (NHS no. {NHS}) was referred to cardiology.",
    "My NHS number is {NHS}.",
    "Please bring your NHS number ({NHS}) to the appointment.",
    "NHS No {NHS}",
    "The GP letter quotes NHS number {NHS}.",
    "nhs: {NHS}",
    "Referral for {NAME}, NHS {NHS}, urgent.",
]
T["mixed"] = [
    "Hi, I'm {NAME}. Email {EMAIL}, phone {PHONE}. My card {CC} was charged twice.",
    "Name: {NAME}\nEmail: {EMAIL}\nPhone: {PHONE}\nDate of birth: {DOB}\nSSN: {SSN}",
    "[{TS}] WARN auth: failed login user={EMAIL} src={IP4} mac={MAC}",
    "Ticket #{NUM}: customer {EMAIL} reports that {URL} returns 500 from {IP}.",
    "Please refund {CC} and send confirmation to {EMAIL}.",
    "Payroll update — {NAME}, NI {NINO}, bank {IBAN}, phone {PHONE}.",
    "{TS} GET {URL} from {IP4} ua=Mozilla/5.0",
    "Patient: {NAME}; NHS number {NHS}; DOB: {DOB}; tel {PHONE}",
    "KYC: passport {PASSPORT}, driver's license {DL}, SSN {SSN}",
    "Wallets: BTC {BTC} / ETH {ETH}",
    "My details: {EMAIL}, {PHONE}, {URL}",
    "Contractor {NAME} (ITIN {ITIN}) — pay to {IBAN}, invoice {INVOICE}.",
    "Hola, soy {NAME}, mi correo es {EMAIL} y mi teléfono {PHONE}.",
    "Incident {UUID}: host {IP} ({MAC}) contacted {URL}",
    "New signup: {EMAIL} from {IP4}, referral {URL}",
    "Shipping to {NAME}, {CITY}. Phone {PHONE}. Tracking {TRACK}.",
    "Order {ORDER} paid with {CC} on {DATE}; receipt sent to {EMAIL}.",
    "Hi team,\n\nplease update my bank account to {IBAN} and my phone to {PHONE}.\n\nThanks,\n{NAME}",
    "user {EMAIL} changed 2FA phone to {PHONE} from ip {IP}",
    "Tax form: SSN {SSN}, spouse ITIN {ITIN}, date of birth {DOB}",
    "| {NAME} | {EMAIL} | {PHONE} |",
    "{\"email\": \"{EMAIL}\", \"ip\": \"{IP}\", \"card\": \"{CC}\"}",
]
T["neg"] = [
    "Order {ORDER} has shipped and will arrive on {DATE}.",
    "Invoice {INVOICE} totals {PRICE}, due {DATE}.",
    "Please upgrade to version {VERSION} before the release.",
    "ISBN {ISBN} — third edition.",
    "Build {VERSION} finished at {TS} in {N} minutes.",
    "The test card {BADCARD} should be rejected by Luhn.",
    "IBAN {BADIBAN} failed validation, please check it.",
    "Reference number {BADSSN} is not a valid SSN.",
    "Commit {HASH} fixed the regression.",
    "Request id {UUID} took 231 ms.",
    "The house sold for {PRICE} last spring.",
    "Your parcel {TRACK} is out for delivery.",
    "Meeting moved to {DATE} at 3pm.",
    "sha256: {HASH}",
    "Room {N}, floor {N}; the count was {NUM}.",
    "Use std::vector<int> and Foo::Bar::baz() here.",
    "Timestamp {TS} recorded; retry in {N} seconds.",
    "Account ID {ORDER} was merged into {ORDER}.",
    "Files: report.pdf, photo.jpeg, data.csv and notes.txt attached.",
    "Total: {PRICE} (incl. VAT) for {N} items.",
    "Patient was seen on {DATE}; follow-up in 6 weeks.",
    "Error code 0x{N}F3A at offset 12345.",
    "Serial number {NUM}-{NUM} printed on the box.",
    "Card {BADCARD} and IBAN {BADIBAN} were both invalid.",
    "NHS number {BADNHS} failed the check digit.",
    "Call the meeting at 10:30:00 and again at 14:45:30.",
    "The score was 3.14159 and the ratio 2.71828.",
    "@jsmith mentioned you in #general.",
    "Set the timeout to 300 seconds and retries to {N}.",
    "In 2019, revenue grew 12% to {PRICE}.",
]

# Dev-only extras, written after the first measurement (so not blind): formats an external
# evaluator may use (Faker-style phones with extensions, more card brands, more national
# phone layouts, month-year births, glued "key:value" fields) and more hard negatives.
# They are generated after everything else with their own seed, so the test file is
# unchanged by them.
class GenX(Gen):
    def phone_x(self):
        r = self.r
        a = self.pick(["212", "415", "646", "303", "512", "713", "919"])
        e = str(r.randrange(201, 990)); s4 = self.digits(4); x = str(r.randrange(1, 99999))
        return self.pick(["001-%s-%s-%sx%s" % (a, e, s4, x), "(%s)%s-%s" % (a, e, s4),
                          "%s.%s.%sx%s" % (a, e, s4, x), "+1-%s-%s-%sx%s" % (a, e, s4, x),
                          "%s-%s-%s ext. %s" % (a, e, s4, x[:3]),
                          "06 %s %s %s %s" % tuple(self.digits(2) for _ in range(4)),
                          "(02) 9%s %s" % (self.digits(3), self.digits(4)),
                          "04%s %s %s" % (self.digits(2), self.digits(3), self.digits(3)),
                          "+81 3-%s-%s" % (self.digits(4), self.digits(4)),
                          "+7 495 %s-%s-%s" % (self.digits(3), self.digits(2), self.digits(2)),
                          "+55 11 9%s-%s" % (self.digits(4), self.digits(4))])

    def card_x(self):
        r = self.r
        pre, n = self.pick([("2131", 15), ("1800", 15), ("6304", 16), ("6759", 18),
                            ("5018", 19), ("2201", 16), ("62", 16), ("62", 19), ("4", 13),
                            ("4", 19), ("644", 16), ("3528", 16)])
        body = pre + self.digits(n - 1 - len(pre))
        return body + luhn_digit(body)

    def dob_x(self):
        r = self.r
        y, m, d = r.randrange(1940, 2006), r.randrange(1, 13), r.randrange(1, 29)
        MON = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
        return self.pick(["%s %d" % (MON[m - 1], y), "%d/%02d/%02d" % (y, m, d),
                          "%02d-%s-%d" % (d, MON[m - 1][:3], y),
                          "%s, %s %d, %d" % (self.pick(["Monday", "Tuesday", "Friday"]), MON[m - 1], d, y),
                          "%d%s of %s %d" % (d, "th" if 4 <= d <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th"), MON[m - 1], y),
                          "%02d-%02d-%d" % (m, d, y)])

    def eth_x(self):
        return "0x" + self.hexs(40).upper()

    def neg_x(self):
        r = self.r
        return self.pick(["%05d-%04d" % (r.randrange(10000, 99999), r.randrange(10000)),
                          "2021-CV-%05d" % r.randrange(99999), "C++17", "std::map<int, int>",
                          "ratio 1:2:3", "7.5 GB", "98.6°F", "route 66", "10:30:00",
                          "$%d,%03d,%03d" % (r.randrange(1, 9), r.randrange(1000), r.randrange(1000)),
                          "v%d.%d.%d" % (r.randrange(9), r.randrange(20), r.randrange(40)),
                          "page %d/%d" % (r.randrange(1, 12), r.randrange(12, 30)),
                          "ISBN-13: 978-0-596-52068-7", "PO-%d" % r.randrange(10**6, 10**7),
                          "room %d-%d" % (r.randrange(1, 9), r.randrange(100, 999))])

VALUE.update({"PHONEX": ("PHONE_NUMBER", GenX.phone_x), "CCX": ("CREDIT_CARD", GenX.card_x),
              "DOBX": ("DATE_TIME", GenX.dob_x), "ETHX": ("CRYPTO", GenX.eth_x)})
EXTRA = [
    "Call {PHONEX} for the order status.",
    "phone: {PHONEX}",
    "Rufen Sie {PHONEX} an oder schreiben Sie an {EMAIL}.",
    "My card is {CCX}; exp 11/26.",
    "Paid by card {CCX} (ref {NEGX}).",
    "I was born in {DOBX}.",
    "Date of Birth: {DOBX}",
    "Patient DOB {DOBX}, NHS {NHS}",
    "Send ERC-20 tokens to {ETHX}.",
    "ip:{IP4} mac:{MAC} user:{EMAIL}",
    "src={IP4};dst={IP4};port=443",
    "<{EMAIL}>, <{EMAIL}>.",
    "Docs: {URL}; status: {URL}.",
    "Also see {NEGX} and {NEGX}.",
    "Nothing personal here: {NEGX}, {NEGX}, {NEGX}.",
    "Form\nPassport: {PASSPORT}\nDriver licence: {DL}\nSSN: {SSN}",
]

TYPES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN",
         "US_PASSPORT", "US_DRIVER_LICENSE", "IP_ADDRESS", "MAC_ADDRESS", "URL", "DATE_TIME",
         "CRYPTO", "UK_NINO", "UK_NHS"]
NEGKINDS = {"BADCARD", "BADIBAN", "BADSSN", "BADNHS", "ORDER", "INVOICE", "VERSION", "ISBN",
            "TS", "PRICE", "TRACK", "HASH", "UUID", "DATE", "NUM"}

def render(g, tpl):
    text = b""; spans = []
    pos = 0
    for m in re.finditer(r"\{([A-Z0-9]+)\}", tpl):
        text += tpl[pos:m.start()].encode(); pos = m.end()
        key = m.group(1)
        if key in VALUE:
            typ, fn = VALUE[key]
            v = fn(g).encode()
            spans.append({"type": typ, "start": len(text), "end": len(text) + len(v)})
            text += v
        elif key in FILLER:
            text += FILLER[key](g).encode()
        elif key in NEGKINDS:
            text += g.neg(key).encode()
        elif key == "NEGX":
            text += g.neg_x().encode()
        else:
            raise KeyError(key)
    text += tpl[pos:].encode()
    return text.decode(), spans

def build(part, seed):
    g = Gen(seed)
    groups = {k: [t for i, t in enumerate(v) if i % 2 == part] for k, v in T.items()}
    lines = []
    # per-type groups: 24 lines each, 50 mixed, 60 negatives
    for k, ts in groups.items():
        n = {"mixed": 50, "neg": 60}.get(k, 24)
        for i in range(n):
            lines.append(render(g, ts[i % len(ts)]))
    g.r.shuffle(lines)
    if part == 0:
        gx = GenX(seed + 1)
        lines += [render(gx, EXTRA[i % len(EXTRA)]) for i in range(8 * len(EXTRA))]
    return lines

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "guard", "data")
    for part, name, seed in ((0, "eval_pii_dev.jsonl", 20261126), (1, "eval_pii_test.jsonl", 7351)):
        lines = build(part, seed)
        counts = {t: 0 for t in TYPES}
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            for text, spans in lines:
                b = text.encode()
                for s in spans:
                    assert b[s["start"]:s["end"]].decode().strip() == b[s["start"]:s["end"]].decode()
                    counts[s["type"]] += 1
                f.write(json.dumps({"text": text, "spans": spans}, ensure_ascii=False) + "\n")
        tot = sum(counts.values())
        print("%s: %d lines, %d spans, %d without spans" % (name, len(lines), tot, sum(1 for _, s in lines if not s)))
        print("  " + ", ".join("%s=%d" % kv for kv in counts.items()))
        assert tot >= 400 and min(counts.values()) >= 15, counts

if __name__ == "__main__":
    main()
