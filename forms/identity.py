"""The signed identity every template carries, and its verification.

The identity says which collection, organisation (login) and form version a workbook was issued
for, plus a fingerprint of its layout. It is signed with HMAC-SHA256 under a server secret that
never leaves the server, so a school cannot forge another school's file or edit its own identity.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SECRET_ENV = "SBOR_SECRET"
SECRET_FILE = "secret.key"


@dataclass(frozen=True)
class Identity:
    collection: str
    login: str
    form: str
    version: int
    fingerprint: str

    def payload(self) -> bytes:
        # Unit separators cannot occur in ids or logins, so the fields cannot be shifted.
        return "\x1f".join(
            [self.collection, self.login, self.form, str(self.version), self.fingerprint]
        ).encode("utf-8")

    def sign(self, secret: bytes) -> str:
        return hmac.new(secret, self.payload(), hashlib.sha256).hexdigest()

    def verify(self, secret: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(secret), signature)


def load_secret(runtime_dir: Path) -> bytes:
    """``SBOR_SECRET`` if set; otherwise the secret kept in the runtime folder, created once with
    mode 0600 so that only the operator's account can read it."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env.encode("utf-8")
    path = runtime_dir / SECRET_FILE
    if not path.exists():
        runtime_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")
