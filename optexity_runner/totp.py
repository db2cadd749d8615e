"""Time-based one-time passwords (RFC 6238, HMAC-SHA1), for ``{"totp": ...}`` secure values.

Written here rather than taken from pyotp because pyotp refuses secrets shorter than 112 bits,
and many portals issue 80-bit secrets (16 base32 characters) that authenticator apps accept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

STEP_SECONDS = 30


def totp(secret_base32: str, digits: int = 6, at: float | None = None) -> str:
    """The code for ``secret_base32`` at time ``at`` (default: now)."""
    cleaned = secret_base32.replace(" ", "").upper()
    key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    counter = int((time.time() if at is None else at) // STEP_SECONDS)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)
