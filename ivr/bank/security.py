"""PIN hashing, card-number checks and masking for the bank service.

PINs are stored as ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``: a random 16-byte salt per PIN
and hashlib.scrypt (RFC 7914). Verification takes the cost from the stored string, so a store
seeded at one cost still verifies after the setting changes, and compares with
hmac.compare_digest. Nothing here logs; callers log only the masked forms.
"""
import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

# Production cost: n = 2**14, r = 8, p = 1 is the interactive-login setting recommended in
# RFC 7914 section 2 / Percival's scrypt paper (about 16 MiB and 40 ms per hash measured here).
PRODUCTION_N = 2 ** 14
PRODUCTION_R = 8
PRODUCTION_P = 1
SALT_BYTES = 16   # 128-bit salt, NIST SP 800-132 section 5.1 asks for at least 128 bits
HASH_BYTES = 32
# scrypt needs 128 * n * r bytes; leave headroom over the default 32 MiB cap for n up to 2**15.
_MAXMEM = 64 * 1024 * 1024

PIN_RE = re.compile(r"^[0-9]{6}$")   # Chinese bank cards use 6-digit PINs (UnionPay practice)


@dataclass(frozen=True)
class PinCost:
    """scrypt cost parameters. Only tests lower ``n`` (see docs/bank.md, Security)."""

    n: int = PRODUCTION_N
    r: int = PRODUCTION_R
    p: int = PRODUCTION_P

    def __post_init__(self):
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError(f"PinCost.n: {self.n} is not a power of two above 1")
        if self.r < 1 or self.p < 1:
            raise ValueError("PinCost.r and PinCost.p must be at least 1")


PRODUCTION_COST = PinCost()


def check_pin_format(pin):
    """Raise ValueError (without echoing the value) unless ``pin`` is six digits."""
    if not isinstance(pin, str) or not PIN_RE.match(pin):
        raise ValueError("PIN must be 6 digits")


def hash_pin(pin, cost=PRODUCTION_COST):
    """Return the storable scrypt string for ``pin`` with a fresh random salt."""
    check_pin_format(pin)
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                            dklen=HASH_BYTES, maxmem=_MAXMEM)
    b64 = base64.b64encode
    return f"scrypt${cost.n}${cost.r}${cost.p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_pin(pin, stored):
    """True if ``pin`` matches the stored scrypt string (constant-time comparison)."""
    if not isinstance(pin, str) or not PIN_RE.match(pin):
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        n, r, p = int(n), int(r), int(p)
        salt = base64.b64decode(salt)
        digest = base64.b64decode(digest)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest),
                               maxmem=_MAXMEM)
    return hmac.compare_digest(candidate, digest)


def stored_cost(stored):
    """The PinCost a stored hash was made with."""
    _, n, r, p, _, _ = stored.split("$")
    return PinCost(int(n), int(r), int(p))


def luhn_check_digit(payload):
    """The Luhn (ISO/IEC 7812-1 annex B) check digit for the digit string ``payload``."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:       # the digit next to the check digit is doubled
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number):
    """True if ``number`` is all digits and passes the Luhn check."""
    return (isinstance(number, str) and number.isdigit() and len(number) >= 2
            and luhn_check_digit(number[:-1]) == number[-1])


def mask_number(number):
    """Mask a card or account number as ``6222 **** **** 7890`` (first 4 and last 4 kept).

    Anything that is not a plain digit string of at least 9 digits becomes ``****`` so that a
    wrong input (which may be a mistyped card number or PIN) is never echoed.
    """
    if not isinstance(number, str) or not number.isdigit() or len(number) < 9:
        return "****"
    return f"{number[:4]} **** **** {number[-4:]}"
