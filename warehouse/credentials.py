"""One-time codes and passwords.

A one-time code is 130 random bits shown once (in the coordinator's workbook): so high in entropy
that a keyed fast hash (HMAC-SHA256 with the workspace secret) is as safe as a slow one, and
40,000 of them are issued in well under a second. A password is chosen by a person, so it is
hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# SBOR_CHEAP_PASSWORD_HASH=1 (the tests only) takes argon2id's cheapest parameters: the default
# costs 0.8 s of this busy machine per hash, and the tests sign in hundreds of times. A hash
# carries its parameters, so either kind verifies under either setting.
_HASHER = (PasswordHasher.from_parameters(profiles.CHEAPEST)
           if os.environ.get("SBOR_CHEAP_PASSWORD_HASH") == "1" else PasswordHasher())
# Verified against when the login is unknown, so that a wrong login costs the same time as a
# wrong password and timing does not tell which logins exist.
_DUMMY = _HASHER.hash("sbor-dummy-password")
MIN_PASSWORD = 10


def new_code() -> str:
    """``ABCD-EFGH-…``: 26 base32 letters and digits (130 bits) in groups of four, easy to copy
    from a workbook (no 0/O or 1/I/l confusion in base32's alphabet)."""
    raw = base64.b32encode(secrets.token_bytes(17)).decode("ascii").rstrip("=")[:26]
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def code_hash(secret: bytes, code: str) -> str:
    return hmac.new(secret, code.encode("utf-8"), hashlib.sha256).hexdigest()


def code_matches(secret: bytes, code: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(code_hash(secret, code), stored)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, login: str) -> str | None:
    """Why a new password cannot be used, in Russian, or None."""
    if len(password) < MIN_PASSWORD:
        return f"Пароль должен содержать не менее {MIN_PASSWORD} символов."
    if login.lower() in password.lower():
        return "Пароль не должен содержать логин."
    return None


def session_hash(session_id: str) -> str:
    """Sessions are stored by the SHA-256 of their id: a leaked table opens no session."""
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()
